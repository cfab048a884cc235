import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from './helpers/process.js';

/**
 * The shell blocks of the README and of docs/operations.md, run as a reader pastes them into bash
 * against a real server: only the pasted secret and the address change.
 */
const doc = (path: string) => readFileSync(join(process.cwd(), path), 'utf8');

/** The `n`th ```sh block after a heading. */
function block(markdown: string, heading: string, n = 0): string {
  const from = markdown.indexOf(`${heading}\n`);
  expect(from, heading).toBeGreaterThanOrEqual(0);
  const blocks = [...markdown.slice(from).matchAll(/```sh\n([\s\S]*?)```/g)];
  expect(blocks.length, heading).toBeGreaterThan(n);
  return blocks[n]![1]!;
}

/** Runs a block in bash with `set -euo pipefail`, in `cwd`, aimed at `base` instead of localhost:8080. */
function run(script: string, base: string, cwd: string): string {
  const shell = spawnSync('bash', ['-euo', 'pipefail', '-c', script.replaceAll('localhost:8080', new URL(base).host)], { cwd, encoding: 'utf8', timeout: 60_000 });
  expect(shell.status, `${shell.stderr}\n${shell.stdout}`).toBe(0);
  return shell.stdout;
}

/** Every `# → …` line of a block is a line of the output, in order; `…` stands for any text within a JSON string. */
function expectAnswers(script: string, output: string): void {
  const expected = [...script.matchAll(/^# → (.+)$/gm)].map((m) => m[1]!);
  expect(expected.length).toBeGreaterThan(0);
  const lines = output.split('\n');
  let at = 0;
  for (const line of expected) {
    const pattern = new RegExp(`^${line.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^"]*')}$`);
    const found = lines.findIndex((actual, i) => i >= at && pattern.test(actual));
    expect(found, `expected, after line ${at} of the output:\n${line}\nin:\n${output}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-docs-shell-'));
const started: ServiceProcess[] = [];
afterAll(() => {
  for (const service of started) service.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

describe('the docs’ shell blocks, run as pasted', () => {
  it('runs the README’s curl session and the operator’s account calls, and backs up and restores the store as docs/operations.md says', async () => {
    const serverDir = join(dir, 'server');
    mkdirSync(serverDir);
    const server = await startService(serverDir, {});
    started.push(server);
    const printed = server.output();
    const password = /Demo account owner: \S+ \/ password: (\S+)/.exec(printed)?.[1];
    const operatorToken = /Operator token \(LATCHKEY_ADMIN_TOKEN\): (\S+)/.exec(printed)?.[1];
    expect(password).toBeDefined();
    expect(operatorToken).toBeDefined();
    const readme = doc('README.md');

    // The session, with the printed password pasted into its first line; then `reauth`, which it
    // tells a reader who paused to run.
    const session = block(readme, '### A session with curl');
    expect(session).toMatch(/^PASSWORD='paste the printed demo password here'$/m);
    const sessionDir = mkdtempSync(join(dir, 'session-'));
    const pasted = session.replace(/^PASSWORD=.*$/m, `PASSWORD='${password}'`);
    const output = run(`${pasted}\nreauth\n`, server.base, sessionDir);
    expectAnswers(session, output);
    expect(output.trim().split('\n').at(-1)).toMatch(/^\{"reauth_until":"[^"]+"\}$/);

    const accounts = block(readme, '### Accounts');
    expect(accounts).toMatch(/^ADMIN_TOKEN='paste the printed operator token here'$/m);
    expectAnswers(accounts, run(accounts.replace(/^ADMIN_TOKEN=.*$/m, `ADMIN_TOKEN='${operatorToken}'`), server.base, mkdtempSync(join(dir, 'accounts-'))));

    // The signed head, read with the session's cookie jar as docs/operations.md shows.
    const operations = doc('docs/operations.md');
    const head = JSON.parse(run(block(operations, '### The signed head'), server.base, sessionDir));
    expect(head).toMatchObject({ valid: true, head: { seq: expect.any(Number), hash: expect.any(String) } });

    if (!hasSqlite3) {
      if (process.env.CI) throw new Error('sqlite3 is missing: CI installs it (.ci/run), and the backup blocks must run there');
      console.warn('docs-shell: sqlite3 not installed, so the SQLite backup and restore blocks were not run');
      return;
    }
    // Backed up while the server runs, then restored on a "new machine" and started there.
    run(block(operations, '### SQLite', 0), server.base, serverDir);
    expect(await server.stop()).toBe(0);
    const restoredDir = join(dir, 'restored');
    mkdirSync(restoredDir);
    cpSync(join(serverDir, 'backup'), join(restoredDir, 'backup'), { recursive: true });
    run(block(operations, '### SQLite', 1), server.base, restoredDir);
    const restored = await startService(restoredDir, {});
    started.push(restored);
    expect(restored.output()).not.toMatch(/shown once/);
    // The session made before the backup still works, and the chain is the one read before it, whole.
    const after = JSON.parse(run(block(operations, '### The signed head'), restored.base, sessionDir));
    expect(after).toMatchObject({ valid: true, broken: 0, head: head.head });
    expect(await restored.stop()).toBe(0);
  }, 120_000);
});
