import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/** The Node.js lines the README promises and CI runs the suite on. */
const TESTED_LINES = ['20.19.0', '22.13.0', '24.0.0'];

interface LockedPackage { engines?: { node?: string }; optional?: boolean; dev?: boolean }
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockedPackage> };
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };

describe('the Node.js lines Latchkey supports', () => {
  it.each(TESTED_LINES)('Node %s satisfies the engines of every installed package, so npm warns of none', (line) => {
    expect(semver.satisfies(line, manifest.engines.node)).toBe(true);
    const refused = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines?.node !== undefined && !semver.satisfies(line, entry.engines.node, { includePrerelease: true }))
      .map(([path, entry]) => `${path.replace(/^node_modules\//, '')} wants node ${entry.engines!.node}`);
    expect(refused).toEqual([]);
  });

  it('the README names each tested line', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const line of TESTED_LINES) expect(readme).toContain(`Node.js ${semver.major(line)}`);
  });
});
