import type { Clock } from '../../core/clock.js';
import { decide } from '../../core/policy.js';
import type { Db } from '../../store/database.js';
import { findGrant, grantOfToken } from '../../store/oauth.js';
import type { Verifier } from '../verifier.js';

/** RFC 7662's answer: `active` alone for anything not a live access token, so nothing else leaks. */
export type Introspection =
  | { active: false }
  | {
    active: true; token_type: 'Bearer'; scope: string; client_id: string; username: string; sub: string; aud: string; iss: string;
    exp: number; account_id: string; domains: string[] | null;
  };

export interface IntrospectionDeps {
  db: Db;
  clock: Clock;
  verifier: Verifier;
}

const INACTIVE: Introspection = { active: false };

/**
 * Token introspection (RFC 7662) for the platform's resource servers, asked with the operator
 * credential: whether an access token issued through OAuth is live, and for whom, which client,
 * which resource (`aud`, for the resource server to compare with itself) and what access. Other
 * Latchkey tokens are answered inactive here: a platform service decides them with `/v1/verify`,
 * which applies their allowlists and domains. Asking is not a use: it neither counts against a
 * rate limit nor moves the token's last use.
 */
export class IntrospectionService {
  constructor(private readonly deps: IntrospectionDeps) {}

  async introspect(secret: string, issuer: string): Promise<Introspection> {
    const { db, clock, verifier } = this.deps;
    const grant = await verifier.resolve(secret);
    if (grant === null || grant.audience === null) return INACTIVE;
    if (decide(grant, { scope: null, ip: '', now: clock.now(), audience: grant.audience }) !== null) return INACTIVE;
    const grantId = await grantOfToken(db, grant.id);
    const connection = grantId === undefined ? undefined : await findGrant(db, grantId);
    if (connection === undefined || connection.revoked_at !== null || connection.expires_at <= clock.now()) return INACTIVE;
    return {
      active: true, token_type: 'Bearer', scope: [...grant.effective].join(' '), client_id: connection.client_id, username: connection.user_email,
      sub: connection.user_id, aud: grant.audience, iss: issuer, exp: Math.floor((grant.expiresAt ?? connection.expires_at) / 1000),
      account_id: grant.accountId, domains: grant.domains === null ? null : [...grant.domains],
    };
  }
}
