import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, invalidRequest, notFound } from '../core/errors.js';
import { iso, type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { PlanName } from '../core/catalog.js';
import type { Role } from '../core/roles.js';
import type { Db } from '../store/database.js';
import { transact } from '../store/transactions.js';
import {
  accountById, anyAccount, deleteSession, deleteSessionsOf, emailTaken, insertAccount, insertSession, insertUser, passwordHashOf, purgeSessions, sessionByHash,
  passwordStillIs, setPassword, setPlan, setReauthAt, userByEmail, type AccountRecord, type UserRecord,
} from '../store/accounts.js';
import type { Trx } from '../store/tokens.js';
import type { AuditLog } from './audit.js';
import type { Actor, RequestMeta } from './context.js';
import type { PasswordHasher } from './passwords.js';
import type { PasswordAttempt, PasswordThrottle } from './throttle.js';

/**
 * Logins and re-auths of one person spend one budget of failed password checks, kept by the
 * email a login names (one that names nobody is counted the same way).
 */
const passwordBudget = (email: string): string => `person:${email.trim().toLowerCase()}`;

export type { Role };

export interface AccountView {
  id: string;
  name: string;
  plan: PlanName;
  created_at: string;
}

export interface UserView {
  id: string;
  account_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
  /** Signed in with a one-time password: nothing but choosing a new one (and signing out) until then. */
  password_change_required: boolean;
}

export interface SessionCaller {
  sessionId: string;
  user: UserView;
  account: AccountView;
  reauthAt: number;
  csrfHash: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/**
 * A session's CSRF token follows from its secret, so that any tab holding the session cookie can
 * ask for it again (`GET /v1/auth/session`), while a page elsewhere, which cannot read that
 * response, cannot learn it.
 */
export const csrfTokenFor = (sessionSecret: string): string => sha256(`latchkey csrf\0${sessionSecret}`);
/** The operator, as the audit log names them. */
export const OPERATOR: Actor = { type: 'operator', id: null, name: 'operator' };

export interface AccountServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  passwords: PasswordHasher;
  sessionTtlSeconds: number;
  throttle: PasswordThrottle;
  /** Called after a plan change commits: every cached token of the account must be re-read. */
  onPlanChanged(accountId: string): void;
}

export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  async createAccount(input: { name: string; plan: PlanName; owner: { email: string; password: string; name?: string } }, meta: RequestMeta | null) {
    const { db, clock, passwords } = this.deps;
    const now = clock.now();
    const account: AccountRecord = { id: newId('acc'), name: input.name, plan: input.plan, created_at: now };
    const passwordHash = await passwords.hash(input.owner.password);
    const owner = await transact(db, async (trx) => {
      await insertAccount(trx, account);
      const user = await this.insertUser(trx, account.id, input.owner, 'owner', passwordHash, now);
      await this.deps.audit.append(trx, account.id, {
        action: 'account.created', actor: OPERATOR, target: { type: 'account', id: account.id, name: account.name },
        details: { plan: input.plan, owner: user.email }, meta,
      }, now);
      return user;
    });
    return { account: accountView(account), owner };
  }

  async addUser(accountId: string, input: { email: string; password: string; role: Role; name?: string }, meta: RequestMeta | null) {
    const { db, clock, passwords } = this.deps;
    await this.getAccount(accountId);
    const now = clock.now();
    const passwordHash = await passwords.hash(input.password);
    return transact(db, async (trx) => {
      const user = await this.insertUser(trx, accountId, input, input.role, passwordHash, now);
      await this.deps.audit.append(trx, accountId, {
        action: 'user.created', actor: OPERATOR, target: { type: 'user', id: user.id, name: user.email },
        details: { role: input.role }, meta,
      }, now);
      return user;
    });
  }

  /** Inside the caller's transaction: a new person of the account (`PeopleService` decides who may add one). */
  async insertUser(
    trx: Trx,
    accountId: string,
    input: { email: string; name?: string },
    role: Role,
    passwordHash: string,
    now: number,
    temporaryAt: number | null = null,
  ): Promise<UserView> {
    const email = input.email.trim().toLowerCase();
    if (await emailTaken(trx, email)) throw new ApiError('conflict', 'a user with this email already exists', { field: 'email' });
    const user: UserRecord = {
      id: newId('usr'), account_id: accountId, email, name: input.name ?? email.split('@')[0]!, role, created_at: now, temporary_password_at: temporaryAt,
    };
    await insertUser(trx, user, passwordHash);
    return userView(user);
  }

  async getAccount(accountId: string): Promise<AccountView> {
    const account = await accountById(this.deps.db, accountId);
    if (!account) throw notFound('account');
    return accountView(account);
  }

  async changePlan(accountId: string, plan: PlanName, meta: RequestMeta | null): Promise<AccountView> {
    const { db, clock } = this.deps;
    const before = await this.getAccount(accountId);
    const now = clock.now();
    await transact(db, async (trx) => {
      await setPlan(trx, accountId, plan);
      await this.deps.audit.append(trx, accountId, {
        action: 'account.plan_changed', actor: OPERATOR, target: { type: 'account', id: accountId, name: before.name },
        details: { from: before.plan, to: plan }, meta,
      }, now);
    });
    this.deps.onPlanChanged(accountId);
    return { ...before, plan };
  }

  /** Returns the new session's secrets; the caller sets the cookie and hands out the CSRF token. */
  async login(email: string, password: string, meta: RequestMeta) {
    const { db, clock, passwords, sessionTtlSeconds, throttle } = this.deps;
    const found = await userByEmail(db, email.trim().toLowerCase());
    const now = clock.now();
    const audit = (action: string) =>
      found
        ? transact(db, (trx) =>
            this.deps.audit.append(trx, found.user.account_id, {
              action, actor: userActor(userView(found.user)), target: { type: 'user', id: found.user.id, name: found.user.email }, meta,
            }, now))
        : Promise.resolve();
    let attempt: PasswordAttempt;
    try {
      attempt = await throttle.begin(passwordBudget(email), meta.ip);
    } catch (error) {
      await audit('auth.login_throttled');
      throw error;
    }
    if (!found || !(await passwords.verify(found.passwordHash, password))) {
      if (!found) await passwords.burn(password);
      await audit('auth.login_failed');
      throw new ApiError('unauthorized', 'email or password is incorrect');
    }
    await attempt.succeeded();
    const user = userView(found.user);
    const sessionSecret = randomBytes(32).toString('base64url');
    const csrfToken = csrfTokenFor(sessionSecret);
    await transact(db, async (trx) => {
      if (!(await passwordStillIs(trx, user.id, found.passwordHash))) throw new ApiError('unauthorized', 'email or password is incorrect');
      await insertSession(trx, {
        id: newId('ses'), hash: sha256(sessionSecret), csrf_hash: sha256(csrfToken), user_id: user.id, account_id: user.account_id,
        created_at: now, expires_at: now + sessionTtlSeconds * 1000, reauth_at: now, ip: meta.ip, user_agent: meta.userAgent,
      });
      await this.deps.audit.append(trx, user.account_id, {
        action: 'auth.login', actor: userActor(user), target: { type: 'user', id: user.id, name: user.email }, meta,
      }, now);
    });
    return { sessionSecret, csrfToken, user, account: await this.getAccount(user.account_id), expiresInSeconds: sessionTtlSeconds };
  }

  async resolveSession(sessionSecret: string): Promise<SessionCaller | null> {
    const { db, clock } = this.deps;
    const found = await sessionByHash(db, sha256(sessionSecret));
    if (!found || found.session.expires_at <= clock.now()) return null;
    return {
      sessionId: found.session.id,
      user: userView(found.user),
      account: accountView(found.account),
      reauthAt: found.session.reauth_at,
      csrfHash: found.session.csrf_hash,
    };
  }

  static csrfMatches(session: SessionCaller, presented: string | undefined): boolean {
    const expected = Buffer.from(session.csrfHash);
    const actual = Buffer.from(sha256(presented ?? ''));
    return presented !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  /**
   * The signed-in person's own password, checked on the budget their logins spend; a wrong one is
   * audited as `<action>_failed`, one past the budget as `<action>_throttled`.
   */
  private async checkOwnPassword(session: SessionCaller, password: string, meta: RequestMeta, action: string): Promise<string> {
    const { db, clock, passwords, throttle } = this.deps;
    const audit = (outcome: string) =>
      transact(db, (trx) =>
        this.deps.audit.append(trx, session.account.id, {
          action: `${action}_${outcome}`, actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
        }, clock.now()));
    let attempt: PasswordAttempt;
    try {
      attempt = await throttle.begin(passwordBudget(session.user.email), meta.ip);
    } catch (error) {
      await audit('throttled');
      throw error;
    }
    const checked = await passwordHashOf(db, session.user.id);
    if (!(await passwords.verify(checked, password))) {
      await audit('failed');
      throw new ApiError('unauthorized', 'password is incorrect', action === 'auth.reauth' ? undefined : { field: 'current_password' });
    }
    await attempt.succeeded();
    return checked;
  }

  async reauth(session: SessionCaller, password: string, meta: RequestMeta): Promise<number> {
    const { db, clock } = this.deps;
    await this.checkOwnPassword(session, password, meta, 'auth.reauth');
    const now = clock.now();
    await transact(db, async (trx) => {
      await setReauthAt(trx, session.sessionId, now);
      await this.deps.audit.append(trx, session.account.id, {
        action: 'auth.reauth', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
      }, now);
    });
    return now;
  }

  /**
   * A new password for the signed-in person, the current one given: every other session of theirs
   * ends (whoever held one knew the old password), and this one counts as just re-authenticated.
   */
  async changePassword(session: SessionCaller, current: string, next: string, meta: RequestMeta): Promise<number> {
    const { db, clock, passwords } = this.deps;
    const checked = await this.checkOwnPassword(session, current, meta, 'auth.password_change');
    if (next === current) throw invalidRequest('new_password', 'the new password must differ from the current one');
    const passwordHash = await passwords.hash(next);
    const now = clock.now();
    await transact(db, async (trx) => {
      // Replaced meanwhile (an operator's reset): that one stands, and this session has ended.
      if (!(await setPassword(trx, session.user.id, passwordHash, null, checked))) throw new ApiError('unauthorized', 'your password was reset meanwhile; sign in again');
      const ended = await deleteSessionsOf(trx, session.user.id, session.sessionId);
      await setReauthAt(trx, session.sessionId, now);
      await this.deps.audit.append(trx, session.account.id, {
        action: 'user.password_changed', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email },
        details: { other_sessions_ended: ended }, meta,
      }, now);
    });
    return now;
  }

  /** Ends every session of the signed-in person, this one included. */
  async logoutEverywhere(session: SessionCaller, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    await transact(db, async (trx) => {
      const ended = await deleteSessionsOf(trx, session.user.id);
      await this.deps.audit.append(trx, session.account.id, {
        action: 'auth.logout_everywhere', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email },
        details: { sessions_ended: ended }, meta,
      }, clock.now());
    });
  }

  async logout(session: SessionCaller, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    await transact(db, async (trx) => {
      await deleteSession(trx, session.sessionId);
      await this.deps.audit.append(trx, session.account.id, {
        action: 'auth.logout', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
      }, clock.now());
    });
  }

  /** Removes sessions past their lifetime; they already fail to resolve, this only reclaims the rows. */
  async purgeExpiredSessions(): Promise<number> {
    return purgeSessions(this.deps.db, this.deps.clock.now());
  }

  async hasAnyAccount(): Promise<boolean> {
    return anyAccount(this.deps.db);
  }
}

export const userActor = (user: UserView): Actor => ({ type: 'user', id: user.id, name: user.email });

export const userView = (user: UserRecord): UserView => ({
  id: user.id, account_id: user.account_id, email: user.email, name: user.name, role: user.role, created_at: iso(user.created_at),
  password_change_required: user.temporary_password_at !== null,
});

const accountView = (account: AccountRecord): AccountView => ({ ...account, created_at: iso(account.created_at) });

