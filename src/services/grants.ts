import { PLANS, type PlanName } from '../core/catalog.js';
import { compileAllowlist, type IpMatcher } from '../core/ip-allowlist.js';
import type { Budget, TokenGrant } from '../core/policy.js';
import { closure, effectiveScopes } from '../core/scopes.js';
import type { TokenType } from '../core/token-format.js';
import type { GrantRow } from '../store/lookups.js';
import { parseRateLimit } from './tokens/token-access.js';

/**
 * Turns a stored token into the precompiled form the policy decides on. Identical scope lists,
 * domain lists and allowlists share one compiled object, so a million cached tokens cost a
 * million small records, not a million sets.
 */
const scopeSets = new Map<string, { granted: ReadonlySet<string>; effective: ReadonlySet<string> }>();
const domainSets = new Map<string, ReadonlySet<string>>();
const matchers = new Map<string, IpMatcher>();
const rateLimits = new Map<string, { requests: number; perSeconds: number }>();
const NO_BUDGETS: readonly Budget[] = [];
/** Account ids, types and plan names repeat across tokens; each row read brings its own copy. */
const strings = new Map<string, string>();
const shared = <T extends string>(text: T): T => intern(strings, text, () => text) as T;

function intern<T>(table: Map<string, T>, key: string, make: () => T): T {
  let value = table.get(key);
  if (value === undefined) {
    value = make();
    table.set(key, value);
  }
  return value;
}

export type GrantSource = Omit<GrantRow, 'plan'>;

const limitOf = (text: string) => intern(rateLimits, text, () => parseRateLimit(text)!);

/** What a token answers to in each lineage above it, nearest last. */
export interface Above {
  readonly lineage: string;
  readonly rateLimit: string | null;
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
  const type = shared(row.type as TokenType);
  const plan = shared(rowPlan);
  const scopes = intern(scopeSets, `${type}|${plan}|${row.scopes}`, () => {
    const granted = JSON.parse(row.scopes) as string[];
    return { granted: closure(type, granted), effective: effectiveScopes(type, granted, plan) };
  });
  return {
    loadedAt,
    // A deleted token is gone for good: it verifies as revoked even if a purge has not run yet.
    revokedAt: row.revoked_at ?? row.deleted_at,
    expiresAt: row.expires_at,
    pausedAt: row.paused_at ?? above.find((lineage) => lineage.pausedAt !== null)?.pausedAt ?? null,
    planApiAccess: PLANS[plan]?.apiAccess ?? false,
    ipAllowlist:
      row.ip_allowlist === null ? null : intern(matchers, row.ip_allowlist, () => compileAllowlist(JSON.parse(row.ip_allowlist!) as string[])),
    effective: scopes.effective,
    domains: row.domains === null ? null : intern(domainSets, row.domains, () => new Set(JSON.parse(row.domains!) as string[])),
    mailboxId: row.mailbox_id,
    type,
    granted: scopes.granted,
    plan,
    id: row.id,
    accountId: shared(row.account_id),
    name: row.name,
    budgets: budgetsOf(row, above),
  };
}
