import { findGrant, forgetGrantSecrets, grantOfToken, grantsOf, revokeGrant, unrevokedAccessTokens, type GrantRecord } from '../../store/oauth.js';
import { lockAccount, type Trx } from '../../store/tokens.js';
import type { AuditLog } from '../audit.js';
import type { Actor, Principal } from '../context.js';
import { revokeSubtree } from '../tokens/tree.js';

export const AUTHORIZATION_SERVER: Actor = { type: 'system', id: null, name: 'authorization server' };

/** A grant's tokens act for the person who allowed it, with the request that asks for them. */
export const principalFor = (grant: GrantRecord, actor: Actor, meta: Principal['meta']): Principal => ({
  accountId: grant.account_id, actor, visibility: { domains: grant.domains ? new Set(grant.domains) : null, mailboxId: null },
  grant: null, requiredScope: null, freshAuth: false, managesTokens: false, role: null, meta,
});

/**
 * Revokes a grant and every token it issued, inside the caller's transaction: its refresh tokens
 * are forgotten, so nothing it holds brings a new access token. Returns the hashes to drop from
 * the verify cache once the transaction commits.
 */
export async function revokeGrantWhole(
  trx: Trx, audit: AuditLog, grant: GrantRecord, reason: string, actor: Actor, meta: Principal['meta'], action: string, now: number,
): Promise<string[]> {
  const principal = principalFor(grant, actor, meta);
  const hashes: string[] = [];
  await lockAccount(trx, grant.account_id);
  if (await revokeGrant(trx, grant.id, reason, now)) {
    await audit.append(trx, grant.account_id, {
      action, actor, target: { type: 'oauth_grant', id: grant.id, name: grant.client_name }, details: { reason, client_id: grant.client_id }, meta,
    }, now);
  }
  for (const row of await unrevokedAccessTokens(trx, grant.id)) hashes.push(...(await revokeSubtree(trx, audit, principal, row, reason, now)));
  await forgetGrantSecrets(trx, grant.id);
  return hashes;
}

/** The live grants of the connection `grant` belongs to: the same person's to the same client. */
export async function liveGrantsOfConnection(trx: Trx, grant: GrantRecord): Promise<GrantRecord[]> {
  return (await grantsOf(trx, grant.account_id, null))
    .filter((each) => each.user_id === grant.user_id && each.client_id === grant.client_id && each.revoked_at === null);
}

/**
 * An access token a connected agent holds, revoked or deleted from the tokens list, ends its
 * connection: otherwise the agent's refresh token would bring the next one a moment later, and
 * the person who revoked it would believe the agent stopped.
 */
export async function revokeConnectionOfToken(trx: Trx, audit: AuditLog, tokenId: string, principal: Principal, why: string, now: number): Promise<string[]> {
  const grantId = await grantOfToken(trx, tokenId);
  const grant = grantId === undefined ? undefined : await findGrant(trx, grantId);
  if (grant === undefined) return [];
  const hashes: string[] = [];
  for (const each of await liveGrantsOfConnection(trx, grant)) {
    hashes.push(...(await revokeGrantWhole(trx, audit, each, `its access token ${tokenId} was ${why}`, principal.actor, principal.meta, 'oauth.grant_revoked', now)));
  }
  return hashes;
}
