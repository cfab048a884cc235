import type { DbOrTrx } from './tokens.js';

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
