/**
 * In-process verification against a SHA-256 baseline, in one process so that machine noise cancels:
 * the full decision (checksum, hash, cache lookup, status, expiry, plan, IP allowlist, domain,
 * scope) for cached tokens with 1,000 and 1,000,000 stored; the cache-miss path to SQLite; and
 * the heap each cached token costs. Run by `npm run bench`; alone: `npm run bench -- verify`.
 */
import { createHash, hash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { benchVerifier, decideCached, seedTokenStore } from './lib/token-store.js';
import { flat, log, median, opsPerSecond, report } from './lib/measure.js';

const LARGE = Number(process.env.BENCH_LARGE ?? 1_000_000);
const SAMPLE = 100_000;
const ITERATIONS = 300_000;

const gc = (): void => {
  if (!globalThis.gc) throw new Error('run with --expose-gc');
  globalThis.gc();
  globalThis.gc();
};

/** The cache's index lives in typed arrays, outside the JS heap: count both. */
const heapAndTypedArrays = (): number => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/**
 * A random sample, so that a million-token cache is read all over, not through a warm corner.
 * Each presented token is a fresh copy, as a request header's is: reading the seeding array's
 * own strings, scattered over a gigabyte of heap, would time the benchmark's memory, not the cache.
 */
function sampleOf(secrets: string[]): string[] {
  if (secrets.length <= SAMPLE) return secrets;
  return Array.from({ length: SAMPLE }, () => flat(secrets[Math.floor(Math.random() * secrets.length)]!));
}

async function cachedRun(count: number) {
  log(`seeding ${count.toLocaleString('en')} tokens`);
  const store = await seedTokenStore(count);
  const verifier = benchVerifier(store.db, count);

  // Filling the cache is the miss path: each token is read from SQLite once, in chunks.
  gc();
  const heapBefore = heapAndTypedArrays();
  const chunk = Math.max(1, Math.floor(count / 5));
  const coldRates: number[] = [];
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    const start = process.hrtime.bigint();
    for (let i = from; i < to; i += 1) decideCached(verifier, store.secrets[i]!);
    coldRates.push((to - from) / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  gc();
  const bytesPerToken = (heapAndTypedArrays() - heapBefore) / count;
  if (verifier.size !== count) throw new Error(`cache holds ${verifier.size} of ${count}`);

  const sample = sampleOf(store.secrets);
  const n = sample.length;
  const sha256 = opsPerSecond((i) => createHash('sha256').update(sample[i % n]!).digest('base64url'), ITERATIONS);
  const oneShot = opsPerSecond((i) => hash('sha256', sample[i % n]!, 'base64url'), ITERATIONS);
  const cached = opsPerSecond((i) => decideCached(verifier, sample[i % n]!), ITERATIONS);
  log(`${count.toLocaleString('en')} tokens: sha256 ${Math.round(sha256)}/s, one-shot sha256 ${Math.round(oneShot)}/s, cached verify ${Math.round(cached)}/s, cold ${Math.round(median(coldRates))}/s`);

  await store.db.destroy();
  rmSync(store.dir, { recursive: true, force: true });
  return { sha256, oneShot, cached, cold: median(coldRates), bytesPerToken };
}

const small = await cachedRun(1_000);
const large = await cachedRun(LARGE);
report(
  {
    sha256_ops_per_s: Math.round(small.sha256),
    verify_cached_ops_per_s_1k: Math.round(small.cached),
    verify_cached_ops_per_s_1m: Math.round(large.cached),
    verify_cold_ops_per_s: Math.round(large.cold),
    bytes_per_cached_token: Math.round(large.bytesPerToken),
  },
  [
    `baseline: createHash('sha256').update(token).digest('base64url') over the 1,000 tokens; the verify path uses the one-shot ` +
      `crypto.hash(), ${Math.round(small.oneShot).toLocaleString('en')}/s on the same tokens (cached verify ÷ one-shot: ${(small.cached / small.oneShot).toFixed(2)})`,
    `over a random sample of the ${LARGE.toLocaleString('en')}-token store, SHA-256 alone runs at ${Math.round(large.sha256).toLocaleString('en')}/s ` +
      `(one-shot ${Math.round(large.oneShot).toLocaleString('en')}/s): cached verify ÷ SHA-256 on the same sample is ${(large.cached / large.sha256).toFixed(2)}`,
    ...(LARGE === 1_000_000 ? [] : [`the large store held ${LARGE.toLocaleString('en')} tokens, not 1,000,000`]),
  ],
);
