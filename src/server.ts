import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { ensureAuditKeys, ensureDemoAccount, ensureOperatorToken } from './services/bootstrap.js';
import { migrate, openDatabase } from './store/database.js';
import { storeUpgrades } from './services/upgrade.js';
import { systemClock } from './core/clock.js';

/** A configuration problem stops the start with its message and exit code 2. */
function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`latchkey: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

function configOrExit(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    return exitOnConfigError(error);
  }
}

export interface ServeOptions {
  env: NodeJS.ProcessEnv;
  /** Routes to add before the server starts (the HTTP benchmark's reference routes). */
  extend?: (app: FastifyInstance) => void;
}

/** The whole service as `npm start` runs it: config, store, app, listening socket, signals. */
export async function serve({ env, extend }: ServeOptions): Promise<void> {
  const config = configOrExit(env);
  const db = openDatabase(config.database);
  const audit = await ensureAuditKeys(config, db).catch(exitOnConfigError);
  await migrate(db, config.database.dialect, storeUpgrades(audit.secrets, systemClock));
  const operator = await ensureOperatorToken(db, config.adminToken, config.tokenPrefix);
  const latchkey = await buildApp({ config, db, operatorTokenHash: operator.hash, auditKeys: audit.secrets, ...(extend ? { extend } : {}) });
  const demo = config.createDemoAccount ? await ensureDemoAccount(latchkey.ctx.accounts) : null;
  const address = await latchkey.app.listen({ port: config.port, host: config.host });

  // Printed once, to the terminal only: these are the only copies of these secrets.
  const lines: string[] = [];
  if (operator.generated) lines.push(`Operator token (LATCHKEY_ADMIN_TOKEN): ${operator.generated}`);
  if (audit.generated) lines.push(`Audit key (LATCHKEY_AUDIT_KEY), kept in ${audit.generated.file}: ${audit.generated.secret}`);
  if (demo) lines.push(`Demo account owner: ${demo.email} / password: ${demo.password}`);
  if (lines.length) {
    process.stdout.write(`\n  Latchkey — shown once, store them now:\n${lines.map((l) => `    ${l}`).join('\n')}\n\n`);
  }
  process.stdout.write(`  Latchkey listening on ${address} (API docs at ${address}/docs)\n`);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    latchkey.app.log.info({ signal }, 'shutting down');
    latchkey.close().then(
      () => process.exit(0),
      (error) => {
        latchkey.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
