import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { hashSecret, mintSecret, OPERATOR_WORD } from '../core/token-format.js';
import type { Db } from '../store/database.js';
import { putSetting, setting } from '../store/settings.js';
import type { AccountService } from './accounts.js';
import { auditKeyId, latestSigningKeyId } from './audit.js';

const OPERATOR_HASH_KEY = 'operator_token_hash';

/**
 * The operator credential: the configured one, or one generated on the first start whose hash is
 * kept so that later starts accept it. Returns the secret only when it was just generated.
 */
export async function ensureOperatorToken(db: Db, configured: string | null, prefix: string): Promise<{ hash: string; generated: string | null }> {
  if (configured !== null) return { hash: hashSecret(configured), generated: null };
  const stored = await setting(db, OPERATOR_HASH_KEY);
  if (stored !== undefined) return { hash: stored, generated: null };
  const minted = mintSecret(prefix, OPERATOR_WORD);
  await putSetting(db, OPERATOR_HASH_KEY, minted.hash);
  return { hash: minted.hash, generated: minted.secret };
}

export const AUDIT_KEY_FILE = 'audit.key';
const MIN_AUDIT_KEY_LENGTH = 32;

/**
 * The audit chain's keys. They must not live in the database they protect: the configured ones,
 * or on SQLite a key generated on the first start into `audit.key` (mode 0600) beside the database
 * file, returned once for printing. PostgreSQL serves several nodes that must sign alike, so there
 * the key is configured or the start fails.
 */
export async function ensureAuditKeys(config: Config, db: Db): Promise<{ secrets: string[]; generated: { secret: string; file: string } | null }> {
  // A key that no longer verifies the log would make every later check fail: refuse to start.
  const signedBy = await latestSigningKeyId(db);
  const holds = (secrets: readonly string[]) => signedBy === null || secrets.some((secret) => auditKeyId(secret) === signedBy);
  if (config.auditKeys.length > 0) {
    if (!holds(config.auditKeys)) {
      throw new ConfigError(`the audit log was last signed with the key whose id is ${signedBy}, which LATCHKEY_AUDIT_KEY does not hold; to rotate, give the new key first and that one after a comma`);
    }
    return { secrets: config.auditKeys, generated: null };
  }
  if (config.database.dialect === 'postgres') {
    throw new ConfigError(
      'LATCHKEY_AUDIT_KEY is required with PostgreSQL: every node signs the same audit chain, so give each the same key of 32+ characters (for example `openssl rand -base64 32`)',
    );
  }
  // An in-memory database lives only as long as the process, and so may its key.
  if (config.database.path === ':memory:') return { secrets: [randomBytes(32).toString('base64url')], generated: null };
  const file = resolve(dirname(config.database.path), AUDIT_KEY_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < MIN_AUDIT_KEY_LENGTH) throw new ConfigError(`${file} holds no audit key of ${MIN_AUDIT_KEY_LENGTH}+ characters`);
    if (!holds([secret])) throw new ConfigError(`${file} does not hold the key that signed the audit log (key id ${signedBy}): restore the file that did`);
    return { secrets: [secret], generated: null };
  }
  if (signedBy !== null) {
    throw new ConfigError(`${file} is missing, but the audit log was signed with a key (key id ${signedBy}): restore the file, or set LATCHKEY_AUDIT_KEY to that key`);
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secrets: [secret], generated: { secret, file } };
}

/** On a new database, a demo account whose owner's login is returned once for printing. */
export async function ensureDemoAccount(accounts: AccountService): Promise<{ email: string; password: string } | null> {
  if (await accounts.hasAnyAccount()) return null;
  const owner = { email: 'demo@latchkey.local', password: randomBytes(12).toString('base64url'), name: 'Demo Owner' };
  await accounts.createAccount({ name: 'Demo', plan: 'pro', owner }, null);
  return { email: owner.email, password: owner.password };
}
