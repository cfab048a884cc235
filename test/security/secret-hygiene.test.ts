/**
 * Secret hygiene runs inside every harness's close(): each password sent and each secret handed
 * out during a test file is searched for in the logs and the whole store (database files on
 * SQLite, every row on PostgreSQL). These tests show the search finds a planted leak, so the
 * quiet result of the rest of the run means something.
 */
import { describe, expect, it } from 'vitest';
import { asSession, createToken, ownerSession } from '../helpers/actors.js';
import { startHarness } from '../helpers/harness.js';

describe('secret hygiene', () => {
  it('finds a secret that reached the store', async () => {
    const h = await startHarness();
    const owner = asSession(await ownerSession(h));
    const { secret } = await createToken(h, owner, { name: 'leaked', scopes: ['domains:read'] });
    const { token } = await createToken(h, owner, { name: 'carrier', scopes: ['domains:read'] });
    // Past the API, which would have redacted it: as a bug writing raw request text would.
    await h.store.db.updateTable('tokens').set({ description: secret }).where('id', '=', token.id).execute();
    await expect(h.close()).rejects.toThrow(/secrets leaked:\nstore: lk_live_/);
  });

  it('finds a password that reached the logs', async () => {
    const h = await startHarness();
    await ownerSession(h);
    h.app.log.warn({ careless: 'correct horse battery staple' }, 'a careless log line');
    await expect(h.close()).rejects.toThrow(/secrets leaked:\nlogs: correct hors/);
  });
});
