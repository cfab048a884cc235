import { fromJson, jsonText, listOrNull, listOrNullText } from './columns.js';
import type { DbOrTrx, Trx } from './database.js';
import type { OAuthClientsTable, OAuthGrantsTable } from './schema.js';
import { tokenById } from './tokens.js';
import type { TokenRecord } from './token-codec.js';

/** Every query of the authorization server: registered clients, grants, and what grants issued. */

export interface RegisteredClientRecord extends Omit<OAuthClientsTable, 'redirect_uris'> {
  redirect_uris: string[];
}

export interface GrantRecord extends Omit<OAuthGrantsTable, 'scopes' | 'domains' | 'client_verified'> {
  scopes: string[];
  domains: string[] | null;
  client_verified: boolean;
}

const clientOf = (row: OAuthClientsTable): RegisteredClientRecord => ({ ...row, redirect_uris: fromJson<string[]>(row.redirect_uris) });

const grantOf = (row: OAuthGrantsTable): GrantRecord => ({
  ...row, scopes: fromJson<string[]>(row.scopes), domains: listOrNull(row.domains), client_verified: row.client_verified === 1,
});

export async function insertClient(db: DbOrTrx, client: RegisteredClientRecord): Promise<void> {
  await db.insertInto('oauth_clients').values({ ...client, redirect_uris: jsonText(client.redirect_uris) }).execute();
}

export async function findClient(db: DbOrTrx, id: string): Promise<RegisteredClientRecord | undefined> {
  const row = await db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
  return row && clientOf(row);
}

export async function markClientUsed(trx: Trx, id: string, now: number): Promise<void> {
  await trx.updateTable('oauth_clients').set({ first_used_at: now }).where('id', '=', id).where('first_used_at', 'is', null).execute();
}

/** Whether any person, in any account, has ever allowed the client. */
export async function clientEverAllowed(db: DbOrTrx, clientId: string): Promise<boolean> {
  return (await db.selectFrom('oauth_grants').select('id').where('client_id', '=', clientId).limit(1).executeTakeFirst()) !== undefined;
}

/** Whether any grant of the account, live or ended, has named the client. */
export async function accountKnowsClient(db: DbOrTrx, accountId: string, clientId: string): Promise<boolean> {
  return (await db.selectFrom('oauth_grants').select('id').where('account_id', '=', accountId).where('client_id', '=', clientId).limit(1).executeTakeFirst()) !== undefined;
}

/** Registrations no grant ever named, made before `cutoff`. */
export async function purgeUnusedClients(db: DbOrTrx, cutoff: number): Promise<number> {
  const result = await db.deleteFrom('oauth_clients').where('first_used_at', 'is', null).where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertGrant(trx: Trx, grant: GrantRecord): Promise<void> {
  await trx.insertInto('oauth_grants').values({
    ...grant, scopes: jsonText(grant.scopes), domains: listOrNullText(grant.domains), client_verified: grant.client_verified ? 1 : 0,
  }).execute();
}

export async function findGrant(db: DbOrTrx, id: string): Promise<GrantRecord | undefined> {
  const row = await db.selectFrom('oauth_grants').selectAll().where('id', '=', id).executeTakeFirst();
  return row && grantOf(row);
}

/** The account's grants, newest first; `liveAt` keeps those neither revoked nor expired then. */
export async function grantsOf(db: DbOrTrx, accountId: string, liveAt: number | null): Promise<GrantRecord[]> {
  let query = db.selectFrom('oauth_grants').selectAll().where('account_id', '=', accountId);
  if (liveAt !== null) query = query.where('revoked_at', 'is', null).where('expires_at', '>', liveAt);
  return (await query.orderBy('id', 'desc').execute()).map(grantOf);
}

/** Revokes a grant not yet revoked; false when it already was. */
export async function revokeGrant(trx: Trx, id: string, reason: string, now: number): Promise<boolean> {
  const result = await trx.updateTable('oauth_grants').set({ revoked_at: now, revoke_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function insertCode(trx: Trx, code: { hash: string; grant_id: string; code_challenge: string; expires_at: number }): Promise<void> {
  await trx.insertInto('oauth_codes').values({ ...code, used_at: null }).execute();
}

export async function findCode(db: DbOrTrx, hash: string): Promise<{ grant_id: string; code_challenge: string; expires_at: number; used_at: number | null } | undefined> {
  return db.selectFrom('oauth_codes').select(['grant_id', 'code_challenge', 'expires_at', 'used_at']).where('hash', '=', hash).executeTakeFirst();
}

/** Spends a code: of any number of transactions presenting it at once, exactly one gets true. */
export async function claimCode(trx: Trx, hash: string, now: number): Promise<boolean> {
  const claimed = await trx.updateTable('oauth_codes').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
  return Number(claimed.numUpdatedRows) === 1;
}

export async function insertRefreshToken(trx: Trx, hash: string, grantId: string, now: number, parentHash: string | null): Promise<void> {
  await trx.insertInto('oauth_refresh_tokens').values({ hash, grant_id: grantId, created_at: now, used_at: null, parent_hash: parentHash }).execute();
}

export async function findRefreshToken(db: DbOrTrx, hash: string): Promise<{ grant_id: string; used_at: number | null; parent_hash: string | null } | undefined> {
  return db.selectFrom('oauth_refresh_tokens').select(['grant_id', 'used_at', 'parent_hash']).where('hash', '=', hash).executeTakeFirst();
}

/** Whether a successor of `parentHash` other than `except` has been used. */
export async function successorUsed(db: DbOrTrx, parentHash: string, except: string | null = null): Promise<boolean> {
  let query = db.selectFrom('oauth_refresh_tokens').select('hash').where('parent_hash', '=', parentHash).where('used_at', 'is not', null);
  if (except !== null) query = query.where('hash', '<>', except);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/** Marks a refresh token used; of concurrent uses, one gets true, and the rest read its time with `findRefreshToken`. */
export async function claimRefreshToken(trx: Trx, hash: string, now: number): Promise<boolean> {
  const claimed = await trx.updateTable('oauth_refresh_tokens').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
  return Number(claimed.numUpdatedRows) === 1;
}

export async function linkAccessToken(trx: Trx, tokenId: string, grantId: string): Promise<void> {
  await trx.insertInto('oauth_access_tokens').values({ token_id: tokenId, grant_id: grantId }).execute();
}

/** The grant an access token was issued from, if it was. */
export async function grantOfToken(db: DbOrTrx, tokenId: string): Promise<string | undefined> {
  const row = await db.selectFrom('oauth_access_tokens').select('grant_id').where('token_id', '=', tokenId).executeTakeFirst();
  return row?.grant_id;
}

/** Every access token a grant issued that is not revoked yet. */
export async function unrevokedAccessTokens(trx: Trx, grantId: string): Promise<TokenRecord[]> {
  const ids = await trx.selectFrom('oauth_access_tokens').innerJoin('tokens', 'tokens.id', 'oauth_access_tokens.token_id')
    .select('tokens.id').where('oauth_access_tokens.grant_id', '=', grantId).where('tokens.revoked_at', 'is', null).execute();
  return Promise.all(ids.map(({ id }) => tokenById(trx, id)));
}

/** Drops what a revoked grant leaves behind that can never be used again. */
export async function forgetGrantSecrets(trx: Trx, grantId: string): Promise<void> {
  await trx.deleteFrom('oauth_refresh_tokens').where('grant_id', '=', grantId).execute();
  await trx.deleteFrom('oauth_codes').where('grant_id', '=', grantId).execute();
}

/** The grant an access token of this hash was issued from, with the token's id. */
export async function grantOfTokenHash(db: DbOrTrx, hash: string): Promise<{ token_id: string; grant_id: string } | undefined> {
  return db.selectFrom('tokens').innerJoin('oauth_access_tokens', 'oauth_access_tokens.token_id', 'tokens.id')
    .select(['tokens.id as token_id', 'oauth_access_tokens.grant_id']).where('tokens.hash', '=', hash).executeTakeFirst();
}

/** When, from where and by which token each grant was last used, for those used at all: one query for a page of grants. */
export async function lastUsesOfGrants(db: DbOrTrx, grantIds: readonly string[]): Promise<Map<string, { at: number; ip: string | null; tokenId: string }>> {
  const uses = new Map<string, { at: number; ip: string | null; tokenId: string }>();
  if (grantIds.length === 0) return uses;
  const rows = await db.selectFrom('oauth_access_tokens').innerJoin('tokens', 'tokens.id', 'oauth_access_tokens.token_id')
    .select(['oauth_access_tokens.grant_id', 'tokens.id', 'tokens.last_used_at', 'tokens.last_used_ip'])
    .where('oauth_access_tokens.grant_id', 'in', grantIds).where('tokens.last_used_at', 'is not', null)
    .orderBy('tokens.last_used_at', 'desc').execute();
  for (const row of rows) if (!uses.has(row.grant_id)) uses.set(row.grant_id, { at: row.last_used_at!, ip: row.last_used_ip, tokenId: row.id });
  return uses;
}

/** The agent an access token was issued to, as the tokens list names it. */
export interface ConnectedAgentOfToken {
  grant_id: string;
  client_name: string;
}

/** For each of these tokens issued through OAuth, the grant and its client's name: one query for a page of tokens. */
export async function connectedAgentsOfTokens(db: DbOrTrx, tokenIds: readonly string[]): Promise<Map<string, ConnectedAgentOfToken>> {
  const agents = new Map<string, ConnectedAgentOfToken>();
  if (tokenIds.length === 0) return agents;
  const rows = await db.selectFrom('oauth_access_tokens').innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_access_tokens.grant_id')
    .select(['oauth_access_tokens.token_id', 'oauth_grants.id as grant_id', 'oauth_grants.client_name'])
    .where('oauth_access_tokens.token_id', 'in', tokenIds).execute();
  for (const row of rows) agents.set(row.token_id, { grant_id: row.grant_id, client_name: row.client_name });
  return agents;
}
