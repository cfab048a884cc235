import { DOMAIN_ADMIN_SCOPES, PLANS } from '../../core/catalog.js';
import { ApiError } from '../../core/errors.js';
import { effectiveScopes, normaliseScopes } from '../../core/scopes.js';
import type { Principal } from '../context.js';
import { parseExpiry, requireFreshAuth, resolveAllowlist, resolveExpiry } from './token-rules.js';
import { insertToken, planOf, type Trx } from './token-store.js';

/**
 * Tokens that belong to another object: the token every new domain gets (Mailtrap's
 * "example.com token 1"), and the message tokens minted for one mailbox (TrekMail's `msg` tokens).
 */

/**
 * Mints the domain's own token inside the transaction that creates the domain. Its scopes are the
 * domain-admin set cut to the plan (and, when a token creates the domain, to that token); none is
 * made when nothing would be left.
 */
export async function mintDomainToken(trx: Trx, principal: Principal, domain: { id: string; name: string }, tokenPrefix: string, now: number) {
  const plan = await planOf(trx, principal.accountId);
  if (!PLANS[plan].apiAccess) return null;
  const allowed = effectiveScopes('api', DOMAIN_ADMIN_SCOPES, plan);
  const ceiling = principal.grant?.effective;
  const scopes = [...allowed].filter((scope) => !ceiling || ceiling.has(scope));
  if (scopes.length === 0) return null;
  const normalised = normaliseScopes('api', scopes, plan);
  const existing = await trx.selectFrom('tokens').select('id').where('account_id', '=', principal.accountId)
    .where('name', 'like', `${domain.name} token %`).execute();
  return insertToken(trx, principal, {
    type: 'api', name: `${domain.name} token ${existing.length + 1}`, description: `Created with the domain ${domain.name}`,
    scopes: normalised, domains: [domain.id], ipAllowlist: resolveAllowlist(undefined, principal.grant),
    expiresAt: resolveExpiry(undefined, principal.grant), mailboxId: null,
  }, tokenPrefix, now, { domain_token: true, domain_id: domain.id });
}

/** The api-token scope a minter must hold to grant each message-token scope. */
const MESSAGE_SCOPE_SOURCE: Record<string, string> = { 'messages:read': 'messages:read', 'messages:send': 'submission:full' };

export interface MessageTokenInput {
  name: string;
  description?: string;
  scopes: string[];
  expires_in?: string;
  expires_at?: string | null;
}

export async function mintMessageToken(
  trx: Trx,
  principal: Principal,
  mailbox: { id: string; address: string },
  input: MessageTokenInput,
  tokenPrefix: string,
  now: number,
) {
  requireFreshAuth(principal, 'create a token');
  const plan = await planOf(trx, principal.accountId);
  if (!PLANS[plan].apiAccess) throw new ApiError('plan_restricted', `the ${plan} plan has no API access`, { plan });
  const scopes = normaliseScopes('message', input.scopes, plan);
  const ceiling = principal.grant;
  if (ceiling) {
    for (const scope of scopes) {
      const needed = MESSAGE_SCOPE_SOURCE[scope]!;
      if (!ceiling.effective.has(needed)) {
        throw new ApiError('insufficient_scope', `granting '${scope}' needs '${needed}', which this token does not hold`, { field: 'scopes', scope: needed });
      }
    }
  }
  return insertToken(trx, principal, {
    type: 'message', name: input.name, description: input.description ?? `Bound to ${mailbox.address}`, scopes, domains: null,
    ipAllowlist: resolveAllowlist(undefined, ceiling), expiresAt: resolveExpiry(parseExpiry(input, now), ceiling), mailboxId: mailbox.id,
  }, tokenPrefix, now, { mailbox: mailbox.address });
}
