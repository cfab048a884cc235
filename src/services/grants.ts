import { PLANS, type PlanName } from '../core/catalog.js';
import { compileAllowlist, type IpMatcher } from '../core/ip-allowlist.js';
import type { Budget, TokenGrant } from '../core/policy.js';
import type { RateLimit } from '../core/access.js';
import { closure, effectiveScopes } from '../core/scopes.js';
import type { GrantRecord } from '../store/lookups.js';
import type { StoredRateLimit } from '../store/token-codec.js';
import { parseRateLimit } from './tokens/token-access.js';

/**
 * Turns a stored token into the precompiled form the policy decides on. Identical scope lists,
 * domain lists and allowlists share one compiled object, so a million cached tokens cost a
 * million small records, not a million sets.
 */
type ScopeSets = { granted: ReadonlySet<string>; effective: ReadonlySet<string> };
/** By the list they were compiled from (the store hands out one list object per distinct list), then by type and plan. */
const scopeSets = new WeakMap<readonly string[], Map<string, ScopeSets>>();
const domainSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const matchers = new WeakMap<readonly string[], IpMatcher>();
const rateLimits = new WeakMap<StoredRateLimit, RateLimit>();
const NO_BUDGETS: readonly Budget[] = [];
/** Account ids, types and plan names repeat across tokens; each row read brings its own copy. */
const strings = new Map<string, string>();
const shared = <T extends string>(text: T): T => intern(strings, text, () => text) as T;

function intern<K, T>(table: { get(key: K): T | undefined; set(key: K, value: T): unknown }, key: K, make: () => T): T {
  let value = table.get(key);
  if (value === undefined) {
    value = make();
    table.set(key, value);
  }
  return value;
}

export type GrantSource = Omit<GrantRecord, 'plan'>;

const limitOf = (limit: StoredRateLimit) => intern(rateLimits, limit, () => parseRateLimit(limit)!);

/** What a token answers to in each lineage above it, nearest last. */
export interface Above {
  readonly lineage: string;
  readonly rateLimit: StoredRateLimit | null;
  readonly pausedAt: number | null;
}

/** The limits a use counts against: the token's own, then those of the lineages above it. */
function budgetsOf(row: GrantSource, above: readonly Above[]): readonly Budget[] {
  const budgets: Budget[] = [];
  if (row.rate_limit !== null) budgets.push({ key: row.lineage_id, ...limitOf(row.rate_limit), own: true });
  for (const { lineage, rateLimit } of above) if (rateLimit !== null) budgets.push({ key: lineage, ...limitOf(rateLimit), own: false });
  return budgets.length ? budgets : NO_BUDGETS;
}

/**
 * The fields a decision reads come first: a record's in-object fields are laid out in literal
 * order, and with a million cached the first cache line of each is often all a decision touches.
 * `above`: the lineages above the token, nearest last; a paused one pauses the token too, so
 * that pausing a token stops everything below it, and resuming it restores each as it was.
 */
export function compileGrant(row: GrantSource, rowPlan: PlanName, loadedAt: number, above: readonly Above[] = []): TokenGrant {
  const type = shared(row.type);
  const plan = shared(rowPlan);
  const byKind = intern(scopeSets, row.scopes, () => new Map<string, ScopeSets>());
  const scopes = intern(byKind, `${type}|${plan}`, () => ({ granted: closure(type, row.scopes), effective: effectiveScopes(type, row.scopes, plan) }));
  return {
    loadedAt,
    // A deleted token is gone for good: it verifies as revoked even if a purge has not run yet.
    revokedAt: row.revoked_at ?? row.deleted_at,
    expiresAt: row.expires_at,
    pausedAt: row.paused_at ?? above.find((lineage) => lineage.pausedAt !== null)?.pausedAt ?? null,
    planApiAccess: PLANS[plan]?.apiAccess ?? false,
    ipAllowlist:
      row.ip_allowlist === null ? null : intern(matchers, row.ip_allowlist, () => compileAllowlist(row.ip_allowlist!)),
    effective: scopes.effective,
    domains: row.domains === null ? null : intern(domainSets, row.domains, () => new Set(row.domains)),
    mailboxId: row.mailbox_id,
    type,
    granted: scopes.granted,
    plan,
    id: row.id,
    accountId: shared(row.account_id),
    name: row.name,
    budgets: budgetsOf(row, above),
    audience: row.audience,
  };
}
