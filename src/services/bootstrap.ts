import { randomBytes } from 'node:crypto';
import { hashSecret, mintSecret, OPERATOR_WORD } from '../core/token-format.js';
import type { Db } from '../store/database.js';
import type { AccountService } from './accounts.js';

const OPERATOR_HASH_KEY = 'operator_token_hash';

/**
 * The operator credential: the configured one, or one generated on the first start whose hash is
 * kept so that later starts accept it. Returns the secret only when it was just generated.
 */
export async function ensureOperatorToken(db: Db, configured: string | null, prefix: string): Promise<{ hash: string; generated: string | null }> {
  if (configured !== null) return { hash: hashSecret(configured), generated: null };
  const stored = await db.selectFrom('settings').select('value').where('key', '=', OPERATOR_HASH_KEY).executeTakeFirst();
  if (stored) return { hash: stored.value, generated: null };
  const minted = mintSecret(prefix, OPERATOR_WORD);
  await db.insertInto('settings').values({ key: OPERATOR_HASH_KEY, value: minted.hash }).execute();
  return { hash: minted.hash, generated: minted.secret };
}

/** On a new database, a demo account whose owner's login is returned once for printing. */
export async function ensureDemoAccount(accounts: AccountService): Promise<{ email: string; password: string } | null> {
  if (await accounts.hasAnyAccount()) return null;
  const owner = { email: 'demo@latchkey.local', password: randomBytes(12).toString('base64url'), name: 'Demo Owner' };
  await accounts.createAccount({ name: 'Demo', plan: 'pro', owner }, null);
  return { email: owner.email, password: owner.password };
}
