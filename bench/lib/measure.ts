/** Shared by every benchmark section: medians of repeated rounds, and how a section reports. */

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Operations per second of a synchronous loop: a warm-up, then the median of `rounds` rounds. */
export function opsPerSecond(run: (i: number) => unknown, iterations: number, rounds = 5): number {
  for (let i = 0; i < Math.min(iterations, 50_000); i += 1) run(i);
  const results: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) run(i);
    results.push(iterations / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return median(results);
}

/** The same for an operation that may return a promise; each is awaited before the next starts. */
export async function opsPerSecondAsync(run: (i: number) => unknown, iterations: number, rounds = 5, settle?: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 1000); i += 1) await run(i);
  await settle?.();
  const results: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) await run(i);
    await settle?.();
    results.push(iterations / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return median(results);
}

/**
 * Tokens arrive in an HTTP header as flat strings; the ones minted here are concatenations, which
 * V8 would otherwise flatten on first use inside the measured loop.
 */
export const flat = (text: string): string => Buffer.from(text, 'latin1').toString('latin1');

const MARK = 'BENCH_RESULT ';

/** A section's results, as the last line of its output, for `bench/run.ts` to collect. */
export function report(results: Record<string, number | null>, notes: string[] = []): void {
  process.stdout.write(`${MARK}${JSON.stringify({ results, notes })}\n`);
}

export function parseReport(output: string): { results: Record<string, number | null>; notes: string[] } {
  const line = output.split('\n').reverse().find((l) => l.startsWith(MARK));
  if (!line) throw new Error(`no result in:\n${output.slice(-2000)}`);
  return JSON.parse(line.slice(MARK.length));
}

export const log = (message: string): void => {
  process.stderr.write(`  ${message}\n`);
};
