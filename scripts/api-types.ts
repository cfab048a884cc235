/**
 * The dashboard's types of the API, generated from the OpenAPI document the server serves, so that
 * no server type is restated by hand. `npm run api:types` writes them; a test regenerates them and
 * fails on any difference, so a change to a route's contract shows up in the dashboard's types.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import openapiTS, { astToString } from 'openapi-typescript';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export const API_TYPES_FILE = join(import.meta.dirname, '..', 'dashboard', 'src', 'api-schema.ts');

const HEADER = '// Generated from GET /openapi.json by `npm run api:types` (openapi-typescript). Do not edit.\n\n';

/** The served document, from an app on a throwaway store. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-openapi-'));
  const config = loadConfig({ LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`, LATCHKEY_AUDIT_KEY: 'api-types-audit-key-0123456789abcdefghijklmnop' });
  const latchkey = await buildApp({
    config, operatorTokenHash: 'none', auditKeys: config.auditKeys, logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
  try {
    return JSON.parse((await latchkey.app.inject({ method: 'GET', url: '/openapi.json' })).body) as Record<string, unknown>;
  } finally {
    await latchkey.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function generateApiTypes(): Promise<string> {
  const ast = await openapiTS((await openApiDocument()) as never);
  return HEADER + astToString(ast);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  writeFileSync(API_TYPES_FILE, await generateApiTypes());
  process.stdout.write(`wrote ${API_TYPES_FILE}\n`);
}
