import { PLAN_NAMES, type PlanName } from '../core/catalog.js';
import { ROLES, type Role } from '../core/roles.js';
import { instantOf, instantText, oneOf } from './columns.js';
import type { Db, DbOrTrx, Trx } from './database.js';
import type { AccountsTable, SessionsTable, UsersTable } from './schema.js';

/** Every query of accounts, the people in them, and their sessions. */

// Records are their table's rows (schema.ts) with instants as milliseconds and words as unions.

/** An account, without its audit chain's head (audit.ts keeps that). */
export interface AccountRecord extends Pick<AccountsTable, 'id' | 'name'> {
  plan: PlanName;
  created_at: number;
}

/** A person, without their password's hash: that is read only to check a password. */
export interface UserRecord extends Omit<UsersTable, 'password_hash' | 'role' | 'created_at' | 'temporary_password_at'> {
  role: Role;
  created_at: number;
  temporary_password_at: number | null;
}

/** A session holds the hashes of its secret and of its CSRF token: neither secret is stored. */
export interface SessionRecord extends Omit<SessionsTable, 'created_at' | 'expires_at' | 'reauth_at'> {
  created_at: number;
  expires_at: number;
  reauth_at: number;
}

const planName = oneOf(PLAN_NAMES, 'accounts.plan');
const role = oneOf(ROLES, 'users.role');

const toAccount = (row: Pick<AccountsTable, 'id' | 'name' | 'plan' | 'created_at'>): AccountRecord => ({
  id: row.id, name: row.name, plan: planName(row.plan), created_at: instantOf(row.created_at),
});

const toUser = (row: Omit<UsersTable, 'password_hash'>): UserRecord => ({
  id: row.id, account_id: row.account_id, email: row.email, name: row.name, role: role(row.role), created_at: instantOf(row.created_at),
  temporary_password_at: row.temporary_password_at === null ? null : instantOf(row.temporary_password_at),
});

const USER_COLUMNS = ['id', 'account_id', 'email', 'name', 'role', 'created_at', 'temporary_password_at'] as const;

/** A new account, its audit chain not yet begun. */
export async function insertAccount(trx: Trx, account: AccountRecord): Promise<void> {
  await trx.insertInto('accounts').values({
    ...account, created_at: instantText(account.created_at), audit_seq: 0, audit_head: '', audit_head_mac: null,
  }).execute();
}

export async function accountById(db: DbOrTrx, id: string): Promise<AccountRecord | undefined> {
  const row = await db.selectFrom('accounts').select(['id', 'name', 'plan', 'created_at']).where('id', '=', id).executeTakeFirst();
  return row && toAccount(row);
}

export async function planOf(db: DbOrTrx, accountId: string): Promise<PlanName> {
  const row = await db.selectFrom('accounts').select('plan').where('id', '=', accountId).executeTakeFirstOrThrow();
  return planName(row.plan);
}

export async function setPlan(trx: Trx, accountId: string, plan: PlanName): Promise<void> {
  await trx.updateTable('accounts').set({ plan }).where('id', '=', accountId).execute();
}

export async function anyAccount(db: Db): Promise<boolean> {
  return (await db.selectFrom('accounts').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** Emails are unique across accounts: one sign-in form serves them all. */
export async function emailTaken(trx: Trx, email: string): Promise<boolean> {
  return (await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) !== undefined;
}

export async function insertUser(trx: Trx, user: UserRecord, passwordHash: string): Promise<void> {
  await trx.insertInto('users').values({
    ...user, created_at: instantText(user.created_at), password_hash: passwordHash,
    temporary_password_at: user.temporary_password_at === null ? null : instantText(user.temporary_password_at),
  }).execute();
}

/** The people of an account, oldest first. */
export async function usersOf(db: DbOrTrx, accountId: string): Promise<UserRecord[]> {
  const rows = await db.selectFrom('users').select(USER_COLUMNS).where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toUser);
}

/** One person of one account: someone of another account is not found. */
export async function userOf(db: DbOrTrx, accountId: string, id: string): Promise<UserRecord | undefined> {
  const row = await db.selectFrom('users').select(USER_COLUMNS).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return row && toUser(row);
}

/** Which of these ids are people of the account still. */
export async function existingUserIds(db: DbOrTrx, accountId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('users').select('id').where('account_id', '=', accountId).where('id', 'in', [...new Set(ids)]).execute();
  return new Set(rows.map((row) => row.id));
}

export async function countOwners(trx: Trx, accountId: string): Promise<number> {
  const row = await trx.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).where('account_id', '=', accountId).where('role', '=', 'owner').executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function setRole(trx: Trx, id: string, newRole: Role): Promise<void> {
  await trx.updateTable('users').set({ role: newRole }).where('id', '=', id).execute();
}

/**
 * A new password's hash; `temporaryAt` marks a one-time password (null: the person chose it).
 * With `replacing`, only if the stored hash is still that one (false otherwise): a change checked
 * against a password that a reset replaced meanwhile must not undo the reset.
 */
export async function setPassword(trx: Trx, id: string, passwordHash: string, temporaryAt: number | null, replacing?: string): Promise<boolean> {
  let query = trx.updateTable('users').set({ password_hash: passwordHash, temporary_password_at: temporaryAt === null ? null : instantText(temporaryAt) }).where('id', '=', id);
  if (replacing !== undefined) query = query.where('password_hash', '=', replacing);
  return Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
}

/**
 * Whether the person's password is still the one whose hash was checked, taking the row's write
 * lock for the rest of the transaction (a no-op update: portable, where `for update` is not). A
 * sign-in checked against a password that a change or reset replaced meanwhile gets no session:
 * the change ends sessions in the transaction that replaces the hash, and waits for this one.
 */
export async function passwordStillIs(trx: Trx, id: string, passwordHash: string): Promise<boolean> {
  const result = await trx.updateTable('users').set((eb) => ({ password_hash: eb.ref('password_hash') })).where('id', '=', id).where('password_hash', '=', passwordHash).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Removes a person and every session of theirs. */
export async function deleteUser(trx: Trx, id: string): Promise<void> {
  await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
  await trx.deleteFrom('users').where('id', '=', id).execute();
}

/** Ends a person's sessions, all but `keep` if given; returns how many ended. */
export async function deleteSessionsOf(trx: Trx, userId: string, keep: string | null = null): Promise<number> {
  let query = trx.deleteFrom('sessions').where('user_id', '=', userId);
  if (keep !== null) query = query.where('id', '!=', keep);
  return Number((await query.executeTakeFirst()).numDeletedRows);
}

/** A person by the email they sign in with, and their password's hash to check it against. */
export async function userByEmail(db: Db, email: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
  const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  if (!row) return undefined;
  const { password_hash: passwordHash, ...user } = row;
  return { user: toUser(user), passwordHash };
}

export async function passwordHashOf(db: Db, userId: string): Promise<string> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
  return row.password_hash;
}

const toSessionRow = (session: SessionRecord): SessionsTable => ({
  ...session,
  created_at: instantText(session.created_at),
  expires_at: instantText(session.expires_at),
  reauth_at: instantText(session.reauth_at),
});

export async function insertSession(trx: Trx, session: SessionRecord): Promise<void> {
  await trx.insertInto('sessions').values(toSessionRow(session)).execute();
}

/** A session by its secret's hash, with its person and account, in one read; expired ones included. */
export async function sessionByHash(db: Db, hash: string): Promise<{ session: SessionRecord; user: UserRecord; account: AccountRecord } | undefined> {
  const row = await db.selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
    .select([
      'sessions.id as session_id', 'sessions.hash', 'sessions.csrf_hash', 'sessions.created_at as session_created_at', 'sessions.expires_at',
      'sessions.reauth_at', 'sessions.ip', 'sessions.user_agent',
      'users.id', 'users.account_id', 'users.email', 'users.name', 'users.role', 'users.created_at', 'users.temporary_password_at',
      'accounts.name as account_name', 'accounts.plan', 'accounts.created_at as account_created_at',
    ])
    .where('sessions.hash', '=', hash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    session: {
      id: row.session_id, hash: row.hash, csrf_hash: row.csrf_hash, user_id: row.id, account_id: row.account_id,
      created_at: instantOf(row.session_created_at), expires_at: instantOf(row.expires_at), reauth_at: instantOf(row.reauth_at),
      ip: row.ip, user_agent: row.user_agent,
    },
    user: toUser(row),
    account: toAccount({ id: row.account_id, name: row.account_name, plan: row.plan, created_at: row.account_created_at }),
  };
}

export async function setReauthAt(trx: Trx, sessionId: string, at: number): Promise<void> {
  await trx.updateTable('sessions').set({ reauth_at: instantText(at) }).where('id', '=', sessionId).execute();
}

export async function deleteSession(trx: Trx, sessionId: string): Promise<void> {
  await trx.deleteFrom('sessions').where('id', '=', sessionId).execute();
}

/** Removes the sessions that expired at or before `now`; returns how many. */
export async function purgeSessions(db: Db, now: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<=', instantText(now)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
