import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080, host: '127.0.0.1', database: { dialect: 'sqlite', path: './data/latchkey.db' }, adminToken: null,
      trustProxy: false, reauthWindowSeconds: 600, tokenPrefix: 'lk', allowScopeEdits: true, tokenManagers: ['owner', 'admin'],
    });
  });

  it('parses every documented variable', () => {
    const config = loadConfig({
      PORT: '9000', HOST: '0.0.0.0', LATCHKEY_DATABASE_URL: 'postgres://u@db/latchkey', LATCHKEY_ADMIN_TOKEN: 'x'.repeat(40),
      LATCHKEY_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16, loopback', LATCHKEY_REAUTH_WINDOW: '120', LATCHKEY_TOKEN_PREFIX: 'acme',
      LATCHKEY_ALLOW_SCOPE_EDITS: 'false', LATCHKEY_TOKEN_MANAGERS: 'owner',
    });
    expect(config).toMatchObject({
      port: 9000, host: '0.0.0.0', database: { dialect: 'postgres', url: 'postgres://u@db/latchkey' }, adminToken: 'x'.repeat(40),
      trustProxy: ['loopback', '10.0.0.1', '192.168.0.0/16'], reauthWindowSeconds: 120, tokenPrefix: 'acme', allowScopeEdits: false,
      tokenManagers: ['owner'],
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LATCHKEY_DATABASE_URL', 'mysql://x'],
    ['LATCHKEY_ADMIN_TOKEN', 'short'],
    ['LATCHKEY_TRUST_PROXY', '10.0.0.0/99'],
    ['LATCHKEY_REAUTH_WINDOW', '-1'],
    ['LATCHKEY_TOKEN_PREFIX', 'LK_'],
    ['LATCHKEY_ALLOW_SCOPE_EDITS', 'maybe'],
    ['LATCHKEY_TOKEN_MANAGERS', 'member'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
