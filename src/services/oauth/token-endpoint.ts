import type { Clock } from '../../core/clock.js';
import { refuse, type Refusal } from '../../core/oauth/outcome.js';
import { checkVerifier } from '../../core/oauth/pkce.js';
import { canonicalResource } from '../../core/oauth/resource.js';
import { CODE_WORD, hashSecret, recognise, REFRESH_WORD, TYPE_WORD } from '../../core/token-format.js';
import type { Db, Trx } from '../../store/database.js';
import { claimCode, claimRefreshToken, findCode, findGrant, findRefreshToken, grantOfTokenHash, successorUsed, type GrantRecord } from '../../store/oauth.js';
import { lockAccount } from '../../store/tokens.js';
import { transact } from '../../store/transactions.js';
import type { AuditLog } from '../audit.js';
import type { RequestMeta } from '../context.js';
import { AUTHORIZATION_SERVER, type GrantService, type IssuedPair } from './grants.js';

/** The token endpoint's form, as sent. */
export interface TokenForm {
  grant_type?: string;
  code?: string;
  redirect_uri?: string;
  client_id?: string;
  code_verifier?: string;
  refresh_token?: string;
  resource?: string;
  token?: string;
}

/** Two refreshes from one agent at once both succeed; the same refresh token later than this is a replay. */
export const REFRESH_GRACE_MS = 60_000;

export interface TokenEndpointDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  grants: GrantService;
  tokenPrefix: string;
}

type Answer = { ok: true; pair: IssuedPair } | Refusal;

const NOT_VALID = 'the code is invalid, expired, already used, or was issued to another client';
const REFRESH_NOT_VALID = 'the refresh token is invalid, expired, revoked, or was issued to another client';

/**
 * The token endpoint (a code or a refresh token for a new pair) and revocation. Every check that
 * fails after a code or refresh token is spent still commits the spend: a failed attempt cannot
 * be repeated. A code presented twice, or a refresh token used again after its grace, revokes
 * the grant and everything it issued.
 */
/**
 * Why presenting this refresh token is a replay (taken as stolen), or null. Inside the account's
 * lock, so uses of one grant's tokens are decided one at a time. A token may be presented again
 * for a minute after its first use, for an agent's concurrent refreshes, and each such use hands
 * out another successor; but only until a successor is used: then that successor's line is the
 * grant's, and any other successor, or the token itself, presented later is a fork, whoever holds
 * it. A thief with a copy and the agent thus cannot both keep refreshing: the second of them to
 * use their line revokes the grant.
 */
async function replayOf(trx: Trx, hash: string, presented: { used_at: number | null; parent_hash: string | null }, now: number): Promise<string | null> {
  if (presented.parent_hash !== null && (await successorUsed(trx, presented.parent_hash, hash)) && presented.used_at === null) {
    return 'a refresh token presented after another successor of the same token was used';
  }
  if (presented.used_at === null) return null;
  if (now - presented.used_at > REFRESH_GRACE_MS) return 'refresh token used again after its grace';
  if (await successorUsed(trx, hash)) return 'refresh token used again after its successor was used';
  return null;
}

export class TokenEndpoint {
  constructor(private readonly deps: TokenEndpointDeps) {}

  async exchange(form: TokenForm, meta: RequestMeta, canonicalMcpUrl: string): Promise<Answer> {
    if (form.client_id === undefined || form.client_id === '') return refuse('invalid_request', 'client_id is required');
    if (form.grant_type === 'authorization_code') return this.redeemCode(form, meta, canonicalMcpUrl);
    if (form.grant_type === 'refresh_token') return this.refresh(form, meta, canonicalMcpUrl);
    if (form.grant_type === undefined || form.grant_type === '') return refuse('invalid_request', 'grant_type is required');
    return refuse('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
  }

  private resourceRefusal(form: TokenForm, grant: GrantRecord, canonicalMcpUrl: string): Refusal | null {
    if (form.resource === undefined || form.resource === '') return null;
    const resource = canonicalResource(form.resource, canonicalMcpUrl);
    if (!resource.ok) return resource;
    return resource.resource === grant.resource ? null : refuse('invalid_target', 'resource is not the one this grant is for');
  }

  /** Why a code just spent may not be exchanged, or null: each check as RFC 6749 and RFC 7636 name it. */
  private codeRefusal(form: TokenForm, code: { code_challenge: string; expires_at: number }, grant: GrantRecord, now: number, canonicalMcpUrl: string): Refusal | null {
    if (code.expires_at <= now || grant.client_id !== form.client_id || grant.revoked_at !== null) return refuse('invalid_grant', NOT_VALID);
    if (form.redirect_uri !== undefined && form.redirect_uri !== grant.redirect_uri) return refuse('invalid_grant', 'redirect_uri is not the one the code was issued for');
    const verifier = checkVerifier(form.code_verifier, code.code_challenge);
    if (!verifier.ok) return verifier;
    return this.resourceRefusal(form, grant, canonicalMcpUrl);
  }

  private async redeemCode(form: TokenForm, meta: RequestMeta, canonicalMcpUrl: string): Promise<Answer> {
    const { db, clock, grants, tokenPrefix } = this.deps;
    if (form.code === undefined || recognise(tokenPrefix, form.code) !== CODE_WORD) return refuse('invalid_grant', NOT_VALID);
    const hash = hashSecret(form.code);
    const code = await findCode(db, hash);
    const grant = code && (await findGrant(db, code.grant_id));
    if (code === undefined || grant === undefined) return refuse('invalid_grant', NOT_VALID);
    const outcome = await transact(db, async (trx) => {
      const now = clock.now();
      await lockAccount(trx, grant.account_id);
      // A full account refuses before the code is spent, so that it can be redeemed once there is room; a code already spent is still taken as stolen.
      const full = (await findCode(trx, hash))?.used_at === null ? await grants.refusalForLimit(trx, grant.account_id, now) : null;
      if (full !== null) return { answer: full, hashes: [] };
      if (!(await claimCode(trx, hash, now))) {
        // Presented again: whoever holds it may be an attacker, so nothing issued from it stands.
        const hashes = await grants.revokeWhole(trx, grant, 'authorization code presented twice', AUTHORIZATION_SERVER, meta, 'oauth.code_reused', now);
        return { answer: refuse('invalid_grant', NOT_VALID), hashes };
      }
      const refusal = this.codeRefusal(form, code, grant, now, canonicalMcpUrl);
      if (refusal !== null) return { answer: refusal, hashes: [] };
      return { answer: { ok: true as const, pair: await grants.issuePair(trx, grant, meta, now, null) }, hashes: [] };
    });
    grants.forget(outcome.hashes);
    return outcome.answer;
  }

  private async refresh(form: TokenForm, meta: RequestMeta, canonicalMcpUrl: string): Promise<Answer> {
    const { db, clock, audit, grants, tokenPrefix } = this.deps;
    if (form.refresh_token === undefined || recognise(tokenPrefix, form.refresh_token) !== REFRESH_WORD) return refuse('invalid_grant', REFRESH_NOT_VALID);
    const hash = hashSecret(form.refresh_token);
    const known = await findRefreshToken(db, hash);
    const grant = known && (await findGrant(db, known.grant_id));
    if (known === undefined || grant === undefined || grant.client_id !== form.client_id) return refuse('invalid_grant', REFRESH_NOT_VALID);
    const outcome = await transact(db, async (trx) => {
      const now = clock.now();
      await lockAccount(trx, grant.account_id);
      const current = await findGrant(trx, grant.id);
      if (current === undefined || current.revoked_at !== null || current.expires_at <= now) return { answer: refuse('invalid_grant', REFRESH_NOT_VALID), hashes: [] };
      const presented = (await findRefreshToken(trx, hash))!;
      const replay = await replayOf(trx, hash, presented, now);
      if (replay !== null) {
        const hashes = await grants.revokeWhole(trx, current, replay, AUTHORIZATION_SERVER, meta, 'oauth.replay_detected', now);
        return { answer: refuse('invalid_grant', REFRESH_NOT_VALID), hashes };
      }
      // Likewise before the refresh token is spent.
      const full = await grants.refusalForLimit(trx, current.account_id, now);
      if (full !== null) return { answer: full, hashes: [] };
      const refusal = this.resourceRefusal(form, current, canonicalMcpUrl);
      if (refusal !== null) return { answer: refusal, hashes: [] };
      if (presented.used_at === null) await claimRefreshToken(trx, hash, now);
      const pair = await grants.issuePair(trx, current, meta, now, hash);
      await audit.append(trx, current.account_id, {
        action: 'oauth.refreshed', actor: AUTHORIZATION_SERVER, target: { type: 'oauth_grant', id: current.id, name: current.client_name }, details: {}, meta,
      }, now);
      return { answer: { ok: true as const, pair }, hashes: [] };
    });
    grants.forget(outcome.hashes);
    return outcome.answer;
  }

  /**
   * RFC 7009: a refresh token revokes its whole grant, an access token itself; anything else,
   * or a token of another client, changes nothing, and the answer is the same either way.
   */
  async revoke(form: TokenForm, meta: RequestMeta): Promise<void> {
    const { db, clock, grants, tokenPrefix } = this.deps;
    const word = form.token === undefined ? null : recognise(tokenPrefix, form.token);
    if (word === null || form.client_id === undefined) return;
    const hash = hashSecret(form.token!);
    if (word === REFRESH_WORD) {
      const known = await findRefreshToken(db, hash);
      const grant = known && (await findGrant(db, known.grant_id));
      if (grant === undefined || grant.client_id !== form.client_id) return;
      const hashes = await transact(db, (trx) => grants.revokeWhole(trx, grant, 'revoked by the client', AUTHORIZATION_SERVER, meta, 'oauth.grant_revoked', clock.now()));
      grants.forget(hashes);
      return;
    }
    if (word !== TYPE_WORD.mcp) return;
    const link = await grantOfTokenHash(db, hash);
    const grant = link && (await findGrant(db, link.grant_id));
    if (link === undefined || grant === undefined || grant.client_id !== form.client_id) return;
    const hashes = await transact(db, (trx) => grants.revokeIssued(trx, grant, link.token_id, 'revoked by the client', AUTHORIZATION_SERVER, meta, clock.now()));
    grants.forget(hashes);
  }
}
