import type { TokenGrant } from '../core/policy.js';
import type { ActorType, Role } from '../core/roles.js';

export interface RequestMeta {
  ip: string;
  userAgent: string;
}

/** Who did something, as the audit log and `created_by` record it. */
export interface Actor {
  type: ActorType;
  id: string | null;
  name: string;
}

/** What part of an account a caller can see: a constrained token sees other domains as absent. */
export interface Visibility {
  domains: ReadonlySet<string> | null;
  mailboxId: string | null;
}

export const SEES_EVERYTHING: Visibility = { domains: null, mailboxId: null };

export const seesDomain = (visibility: Visibility, domainId: string): boolean => visibility.domains === null || visibility.domains.has(domainId);

/** A mailbox is seen when its domain is, and a message token sees only its own. */
export const seesMailbox = (visibility: Visibility, mailbox: { id: string; domain_id: string }): boolean =>
  seesDomain(visibility, mailbox.domain_id) && (visibility.mailboxId === null || visibility.mailboxId === mailbox.id);

/**
 * A caller acting on one account, as services see it. The HTTP layer builds it from a session or
 * a token; services never look at HTTP.
 */
export interface Principal {
  accountId: string;
  actor: Actor;
  visibility: Visibility;
  /** Set when acting through a token: the ceiling for any token it mints or changes. */
  grant: TokenGrant | null;
  /** The scope the route asked of that token (null for people, or a route that asks none). */
  requiredScope: string | null;
  /** A password check within the re-auth window (always true for tokens, which have no password). */
  freshAuth: boolean;
  /**
   * Whether this caller may hold and manage tokens: a person whose role may (owners and admins, by
   * `LATCHKEY_TOKEN_MANAGERS`); a token, which the authority rule bounds instead.
   */
  managesTokens: boolean;
  /** A person's role in the account, read at this request; null for a token. */
  role: Role | null;
  meta: RequestMeta;
}
