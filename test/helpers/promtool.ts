import { spawnSync } from 'node:child_process';

/**
 * Why `promtool` cannot run here, or null. Locally a missing tool skips the test with the reason;
 * under CI the test fails instead, never a silent skip (as with the browser tests).
 */
export function promtoolMissing(): string | null {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return null;
  const missing = 'promtool is not installed (apt-get install -y prometheus)';
  if (!process.env.CI) console.warn(`promtool check skipped: ${missing}`);
  return missing;
}

/** What `promtool check metrics` says of an exposition: its exit status and everything it printed. */
export function promtoolCheck(exposition: string): { status: number | null; problems: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: result.status, problems: `${result.stdout}${result.stderr}`.trim() };
}
