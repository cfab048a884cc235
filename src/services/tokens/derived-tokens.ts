import { ancestryUnder } from '../../core/authority.js';
import { DOMAIN_ADMIN_SCOPES, PLANS } from '../../core/catalog.js';
import { ApiError } from '../../core/errors.js';
import { effectiveScopes, normaliseScopes } from '../../core/scopes.js';
import type { AuditLog } from '../audit.js';
import type { Principal } from '../context.js';
import { countNamedFrom, type Trx } from '../../store/tokens.js';
import { issueToken } from './issue.js';
import type { Acting, TokenManagement } from './management.js';
import { accessOfSpec, type AccessSpec } from './token-access.js';
import { defaultExpiry, parseExpiry } from './token-input.js';

/**
 * Tokens that belong to another object: the token every new domain gets (Mailtrap's
 * "example.com token 1"), and the message tokens minted for one mailbox (TrekMail's `msg` tokens).
 * They are minted like any other token: through `TokenManagement`, inside the acting token.
 */
export interface DerivedDeps {
  audit: AuditLog;
  management: TokenManagement;
  tokenPrefix: string;
  maxLifetimeSeconds: number | null;
}

type Minting = Acting & { now: number };

/**
 * Mints the domain's own token inside the transaction that creates the domain (which began with
 * `begin`, and asked for a fresh password since a secret comes with it). Its scopes are the domain-admin set cut to the plan and to the acting token; none
 * is made when nothing would be left.
 */
export async function mintDomainToken(trx: Trx, deps: DerivedDeps, principal: Principal, acting: Minting, domain: { id: string; name: string }) {
  const { plan, now } = acting;
  if (!PLANS[plan].apiAccess) return null;
  const held = acting.manager.kind === 'token' ? acting.manager.access.scopes : null;
  const scopes = [...effectiveScopes('api', DOMAIN_ADMIN_SCOPES, plan)].filter((scope) => held === null || held.has(scope));
  if (scopes.length === 0) return null;
  const { own } = acting;
  const spec: AccessSpec = {
    type: 'api', scopes: normaliseScopes('api', scopes, plan), domains: [domain.id], ipAllowlist: own?.ipAllowlist ?? null,
    expiresAt: defaultExpiry(own?.expiresAt ?? null, now, deps.maxLifetimeSeconds), rateLimit: own?.rateLimit ?? null,
  };
  await deps.management.checkMint(trx, principal, acting, accessOfSpec(spec));
  const existing = await countNamedFrom(trx, principal.accountId, `${domain.name} token `);
  return issueToken(trx, deps.audit, principal, {
    ...spec, name: `${domain.name} token ${existing + 1}`, description: `Created with the domain ${domain.name}`, mailboxId: null, ancestry: ancestryUnder(acting.manager), audience: acting.row?.audience ?? null,
  }, deps.tokenPrefix, now, { domain_token: true, domain_id: domain.id });
}

export interface MessageTokenInput {
  name: string;
  description?: string;
  scopes: string[];
  expires_in?: string;
  expires_at?: string | null;
}

/**
 * A message token for one mailbox, constrained to the mailbox's domain like any other token of
 * that domain, so that domain constraints, lists and the domain's deletion treat it alike.
 */
export async function mintMessageToken(
  trx: Trx,
  deps: DerivedDeps,
  principal: Principal,
  acting: Minting,
  mailbox: { id: string; domain_id: string; address: string },
  input: MessageTokenInput,
) {
  const { plan, now } = acting;
  if (!PLANS[plan].apiAccess) throw new ApiError('plan_restricted', `the ${plan} plan has no API access`, { plan });
  const { own } = acting;
  const requested = parseExpiry(input, now, deps.maxLifetimeSeconds);
  const spec: AccessSpec = {
    type: 'message', scopes: normaliseScopes('message', input.scopes, plan), domains: [mailbox.domain_id], ipAllowlist: own?.ipAllowlist ?? null,
    expiresAt: requested === undefined ? defaultExpiry(own?.expiresAt ?? null, now, deps.maxLifetimeSeconds) : requested,
    rateLimit: own?.rateLimit ?? null,
  };
  await deps.management.checkMint(trx, principal, acting, accessOfSpec(spec));
  return issueToken(trx, deps.audit, principal, {
    ...spec, name: input.name, description: input.description ?? `Bound to ${mailbox.address}`, mailboxId: mailbox.id, ancestry: ancestryUnder(acting.manager), audience: acting.row?.audience ?? null,
  }, deps.tokenPrefix, now, { mailbox: mailbox.address });
}
