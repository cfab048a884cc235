import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, notFound } from '../core/errors.js';
import { iso, type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { PlanName } from '../core/catalog.js';
import type { Transaction } from 'kysely';
import type { Db } from '../store/database.js';
import { transact } from '../store/transactions.js';
import type { Database } from '../store/schema.js';
import type { AuditLog } from './audit.js';
import type { Actor, RequestMeta } from './context.js';
import type { PasswordHasher } from './passwords.js';
import type { PasswordAttempt, PasswordThrottle } from './throttle.js';

/**
 * Logins and re-auths of one person spend one budget of failed password checks, kept by the
 * email a login names (one that names nobody is counted the same way).
 */
const passwordBudget = (email: string): string => `person:${email.trim().toLowerCase()}`;

export type Role = 'owner' | 'admin' | 'member';

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
const OPERATOR: Actor = { type: 'operator', id: null, name: 'operator' };

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
    const account = { id: newId('acc'), name: input.name, plan: input.plan, created_at: iso(now) };
    const passwordHash = await passwords.hash(input.owner.password);
    const owner = await transact(db, async (trx) => {
      await trx.insertInto('accounts').values({ ...account, audit_seq: 0, audit_head: '', audit_head_mac: null }).execute();
      const user = await this.insertUser(trx, account.id, input.owner, 'owner', passwordHash, now);
      await this.deps.audit.append(trx, account.id, {
        action: 'account.created', actor: OPERATOR, target: { type: 'account', id: account.id, name: account.name },
        details: { plan: input.plan, owner: user.email }, meta,
      }, now);
      return user;
    });
    return { account: account as AccountView, owner };
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

  private async insertUser(
    trx: Transaction<Database>,
    accountId: string,
    input: { email: string; name?: string },
    role: Role,
    passwordHash: string,
    now: number,
  ): Promise<UserView> {
    const email = input.email.trim().toLowerCase();
    const taken = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (taken) throw new ApiError('conflict', 'a user with this email already exists', { field: 'email' });
    const user: UserView = {
      id: newId('usr'), account_id: accountId, email, name: input.name ?? email.split('@')[0]!, role, created_at: iso(now),
    };
    await trx.insertInto('users').values({ ...user, password_hash: passwordHash }).execute();
    return user;
  }

  async getAccount(accountId: string): Promise<AccountView> {
    const row = await this.deps.db.selectFrom('accounts').select(['id', 'name', 'plan', 'created_at'])
      .where('id', '=', accountId).executeTakeFirst();
    if (!row) throw notFound('account');
    return row as AccountView;
  }

  async changePlan(accountId: string, plan: PlanName, meta: RequestMeta | null): Promise<AccountView> {
    const { db, clock } = this.deps;
    const before = await this.getAccount(accountId);
    const now = clock.now();
    await transact(db, async (trx) => {
      await trx.updateTable('accounts').set({ plan }).where('id', '=', accountId).execute();
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
    const row = await db.selectFrom('users').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
    const now = clock.now();
    const audit = (action: string) =>
      row
        ? transact(db, (trx) =>
            this.deps.audit.append(trx, row.account_id, {
              action, actor: userActor(toUserView(row)), target: { type: 'user', id: row.id, name: row.email }, meta,
            }, now))
        : Promise.resolve();
    let attempt: PasswordAttempt;
    try {
      attempt = await throttle.begin(passwordBudget(email), meta.ip);
    } catch (error) {
      await audit('auth.login_throttled');
      throw error;
    }
    if (!row || !(await passwords.verify(row.password_hash, password))) {
      if (!row) await passwords.burn(password);
      await audit('auth.login_failed');
      throw new ApiError('unauthorized', 'email or password is incorrect');
    }
    await attempt.succeeded();
    const user = toUserView(row);
    const sessionSecret = randomBytes(32).toString('base64url');
    const csrfToken = csrfTokenFor(sessionSecret);
    await transact(db, async (trx) => {
      await trx.insertInto('sessions').values({
        id: newId('ses'), hash: sha256(sessionSecret), csrf_hash: sha256(csrfToken),
        user_id: user.id, account_id: user.account_id, created_at: iso(now),
        expires_at: iso(now + sessionTtlSeconds * 1000), reauth_at: iso(now), ip: meta.ip, user_agent: meta.userAgent,
      }).execute();
      await this.deps.audit.append(trx, user.account_id, {
        action: 'auth.login', actor: userActor(user), target: { type: 'user', id: user.id, name: user.email }, meta,
      }, now);
    });
    return { sessionSecret, csrfToken, user, account: await this.getAccount(user.account_id), expiresInSeconds: sessionTtlSeconds };
  }

  async resolveSession(sessionSecret: string): Promise<SessionCaller | null> {
    const { db, clock } = this.deps;
    const row = await db.selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
      .select([
        'sessions.id as session_id', 'sessions.expires_at', 'sessions.reauth_at', 'sessions.csrf_hash',
        'users.id', 'users.account_id', 'users.email', 'users.name', 'users.role', 'users.created_at',
        'accounts.name as account_name', 'accounts.plan', 'accounts.created_at as account_created_at',
      ])
      .where('sessions.hash', '=', sha256(sessionSecret))
      .executeTakeFirst();
    if (!row || Date.parse(row.expires_at) <= clock.now()) return null;
    return {
      sessionId: row.session_id,
      user: { id: row.id, account_id: row.account_id, email: row.email, name: row.name, role: row.role as Role, created_at: row.created_at },
      account: { id: row.account_id, name: row.account_name, plan: row.plan as PlanName, created_at: row.account_created_at },
      reauthAt: Date.parse(row.reauth_at),
      csrfHash: row.csrf_hash,
    };
  }

  static csrfMatches(session: SessionCaller, presented: string | undefined): boolean {
    const expected = Buffer.from(session.csrfHash);
    const actual = Buffer.from(sha256(presented ?? ''));
    return presented !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  async reauth(session: SessionCaller, password: string, meta: RequestMeta): Promise<number> {
    const { db, clock, passwords, throttle } = this.deps;
    const now = clock.now();
    const audit = (action: string) =>
      transact(db, (trx) =>
        this.deps.audit.append(trx, session.account.id, {
          action, actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
        }, now));
    let attempt: PasswordAttempt;
    try {
      attempt = await throttle.begin(passwordBudget(session.user.email), meta.ip);
    } catch (error) {
      await audit('auth.reauth_throttled');
      throw error;
    }
    const row = await db.selectFrom('users').select('password_hash').where('id', '=', session.user.id).executeTakeFirstOrThrow();
    if (!(await passwords.verify(row.password_hash, password))) {
      await audit('auth.reauth_failed');
      throw new ApiError('unauthorized', 'password is incorrect');
    }
    await attempt.succeeded();
    await transact(db, async (trx) => {
      await trx.updateTable('sessions').set({ reauth_at: iso(now) }).where('id', '=', session.sessionId).execute();
      await this.deps.audit.append(trx, session.account.id, {
        action: 'auth.reauth', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
      }, now);
    });
    return now;
  }

  async logout(session: SessionCaller, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    await transact(db, async (trx) => {
      await trx.deleteFrom('sessions').where('id', '=', session.sessionId).execute();
      await this.deps.audit.append(trx, session.account.id, {
        action: 'auth.logout', actor: userActor(session.user), target: { type: 'user', id: session.user.id, name: session.user.email }, meta,
      }, clock.now());
    });
  }

  /** Removes sessions past their lifetime; they already fail to resolve, this only reclaims the rows. */
  async purgeExpiredSessions(): Promise<number> {
    const result = await this.deps.db.deleteFrom('sessions').where('expires_at', '<=', iso(this.deps.clock.now())).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async hasAnyAccount(): Promise<boolean> {
    return (await this.deps.db.selectFrom('accounts').select('id').limit(1).executeTakeFirst()) !== undefined;
  }
}

export const userActor = (user: UserView): Actor => ({ type: 'user', id: user.id, name: user.email });

function toUserView(row: { id: string; account_id: string; email: string; name: string; role: string; created_at: string }): UserView {
  return { id: row.id, account_id: row.account_id, email: row.email, name: row.name, role: row.role as Role, created_at: row.created_at };
}

