import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ApiError, notFound } from '../core/errors.js';
import { refusalToChange, refusalToRead, type PeopleActor, type PeopleChange } from '../core/people.js';
import type { Role } from '../core/roles.js';
import { countOwners, deleteSessionsOf, deleteUser, setPassword, setRole, userOf, usersOf, type UserRecord } from '../store/accounts.js';
import type { Db } from '../store/database.js';
import { grantsOf } from '../store/oauth.js';
import { findToken, lockAccount, type Trx } from '../store/tokens.js';
import { transact } from '../store/transactions.js';
import { OPERATOR, userView, type AccountService, type UserView } from './accounts.js';
import type { AuditLog } from './audit.js';
import type { Principal, RequestMeta } from './context.js';
import { revokeGrantWhole } from './oauth/grant-revocation.js';
import type { PasswordHasher } from './passwords.js';
import type { Verifier } from './verifier.js';

export interface PeopleDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  passwords: PasswordHasher;
  accounts: AccountService;
  verifier: Verifier;
  /** The roles that may hold tokens (LATCHKEY_TOKEN_MANAGERS), and so connect agents. */
  tokenManagers: readonly Role[];
  /** LATCHKEY_OAUTH_MEMBERS_MAY_CONNECT. */
  membersMayConnect: boolean;
}

/** A one-time password, shown once: 24 characters from 18 random bytes. */
const oneTimePassword = (): string => randomBytes(18).toString('base64url');

/** How deep a chain of tokens that created tokens may be followed to the person at its root. */
const MAX_CREATOR_HOPS = 16;

/**
 * The people of an account: listing them, adding one with a one-time password, changing a role,
 * removing someone, and the operator's password reset. Who may do which is `core/people.ts`; this
 * applies it inside the transaction that holds the account's lock, so that two owners demoting
 * each other at once cannot leave the account with none.
 */
export class PeopleService {
  constructor(private readonly deps: PeopleDeps) {}

  async list(principal: Principal): Promise<UserView[]> {
    const refusal = refusalToRead(await this.actorOf(this.deps.db, principal));
    if (refusal) throw refusal;
    return (await usersOf(this.deps.db, principal.accountId)).map(userView);
  }

  async add(principal: Principal, input: { email: string; role: Role; name?: string }): Promise<{ user: UserView; password: string }> {
    const { db, clock, passwords, accounts } = this.deps;
    const password = oneTimePassword();
    const passwordHash = await passwords.hash(password);
    const user = await transact(db, async (trx) => {
      await this.admit(trx, principal, { kind: 'add', role: input.role });
      const now = clock.now();
      const user = await accounts.insertUser(trx, principal.accountId, input, input.role, passwordHash, now, now);
      await this.record(trx, principal, 'user.created', user, { role: input.role, one_time_password: true }, now);
      return user;
    });
    return { user, password };
  }

  async changeRole(principal: Principal, userId: string, role: Role): Promise<UserView> {
    const { db, clock } = this.deps;
    const { view, hashes } = await transact(db, async (trx) => {
      const person = await this.personOf(trx, principal, userId);
      await this.admit(trx, principal, { kind: 'role', from: person.role, to: role });
      if (person.role === role) return { view: userView(person), hashes: [] };
      const now = clock.now();
      await setRole(trx, person.id, role);
      await this.record(trx, principal, 'user.role_changed', person, { from: person.role, to: role }, now);
      const hashes = this.mayConnect(role) ? [] : await this.disconnectAgentsOf(trx, principal, person, `${person.email} is now ${role === 'admin' ? 'an' : 'a'} ${role}`, now);
      return { view: userView({ ...person, role }), hashes };
    });
    this.deps.verifier.invalidate(...hashes);
    return view;
  }

  /** Removes a person: their sessions end, their agents are disconnected, the tokens they created stay with the account. */
  async remove(principal: Principal, userId: string): Promise<void> {
    const { db, clock } = this.deps;
    const hashes = await transact(db, async (trx) => {
      const person = await this.personOf(trx, principal, userId);
      await this.admit(trx, principal, { kind: 'remove', role: person.role });
      const now = clock.now();
      const hashes = await this.disconnectAgentsOf(trx, principal, person, `${person.email} was removed`, now);
      await deleteUser(trx, person.id);
      await this.record(trx, principal, 'user.removed', person, { role: person.role }, now);
      return hashes;
    });
    this.deps.verifier.invalidate(...hashes);
  }

  /** The operator's way back for a lost password: a one-time password, every session of that person ended. */
  async resetPassword(accountId: string, userId: string, meta: RequestMeta): Promise<{ user: UserView; password: string }> {
    const { db, clock, passwords } = this.deps;
    const password = oneTimePassword();
    const passwordHash = await passwords.hash(password);
    const user = await transact(db, async (trx) => {
      const person = await userOf(trx, accountId, userId);
      if (person === undefined) throw notFound('user');
      const now = clock.now();
      await setPassword(trx, person.id, passwordHash, now);
      const ended = await deleteSessionsOf(trx, person.id);
      await this.deps.audit.append(trx, accountId, {
        action: 'user.password_reset', actor: OPERATOR, target: { type: 'user', id: person.id, name: person.email }, details: { sessions_ended: ended }, meta,
      }, now);
      return userView({ ...person, temporary_password_at: now });
    });
    return { user, password };
  }

  private mayConnect(role: Role): boolean {
    return this.deps.tokenManagers.includes(role) || this.deps.membersMayConnect;
  }

  private async personOf(trx: Trx, principal: Principal, userId: string): Promise<UserRecord> {
    await lockAccount(trx, principal.accountId);
    const person = await userOf(trx, principal.accountId, userId);
    if (person === undefined) throw notFound('user');
    return person;
  }

  private async admit(trx: Trx, principal: Principal, change: PeopleChange): Promise<void> {
    await lockAccount(trx, principal.accountId);
    const refusal = refusalToChange(await this.actorOf(trx, principal), change, await countOwners(trx, principal.accountId));
    if (refusal) throw refusal;
  }

  /** The caller as the rule sees it: a person's role now, or the role now of the person at the root of a token's tree. */
  private async actorOf(db: Db | Trx, principal: Principal): Promise<PeopleActor> {
    if (principal.actor.type === 'user') {
      // Read again here, under the account's lock when changing: demoted or removed by a change that committed meanwhile, it counts as such.
      const self = await userOf(db, principal.accountId, principal.actor.id!);
      if (self === undefined) throw new ApiError('unauthorized', 'a valid token or session is required');
      return { kind: 'person', role: self.role, freshAuth: principal.freshAuth };
    }
    let creator: { type: string; id: string | null } = principal.actor;
    for (let hop = 0; hop < MAX_CREATOR_HOPS && creator.type === 'token' && creator.id !== null; hop += 1) {
      const token = await findToken(db, principal.accountId, creator.id);
      if (token === undefined) break;
      creator = { type: token.created_by_type, id: token.created_by_id };
    }
    const person = creator.type === 'user' && creator.id !== null ? await userOf(db, principal.accountId, creator.id) : undefined;
    return { kind: 'token', creatorRole: person?.role ?? null };
  }

  /** Every connection the person gave an agent ends: they can no longer stand behind it. */
  private async disconnectAgentsOf(trx: Trx, principal: Principal, person: UserRecord, reason: string, now: number): Promise<string[]> {
    const hashes: string[] = [];
    for (const grant of await grantsOf(trx, principal.accountId, null)) {
      if (grant.user_id !== person.id || grant.revoked_at !== null) continue;
      hashes.push(...(await revokeGrantWhole(trx, this.deps.audit, grant, reason, principal.actor, principal.meta, 'oauth.grant_revoked', now)));
    }
    return hashes;
  }

  private record(trx: Trx, principal: Principal, action: string, person: UserRecord | UserView, details: Record<string, unknown>, now: number): Promise<unknown> {
    return this.deps.audit.append(trx, principal.accountId, {
      action, actor: principal.actor, target: { type: 'user', id: person.id, name: person.email }, details, meta: principal.meta,
    }, now);
  }
}
