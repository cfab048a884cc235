import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulidx';

/**
 * ulidx asks its generator for one random byte per character, sixteen system calls a millisecond
 * under load (the access log mints an id per request). The same CSPRNG, drawn a page at a time.
 */
const pool = new Uint32Array(1024);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 0x1_0000_0000;
}

const ulid = monotonicFactory(pooledRandom);

/**
 * Dated ids have a generator of their own: monotonic within one millisecond (rows dated alike keep
 * the order they were made in), and started afresh when a date goes back, since a monotonic
 * generator would stamp the earlier row with the later time.
 */
let dated = monotonicFactory(pooledRandom);
let lastDated = -Infinity;
function datedUlid(at: number): string {
  if (at < lastDated) dated = monotonicFactory(pooledRandom);
  lastDated = at;
  return dated(at);
}

/**
 * Sortable ids with a readable kind: `tok_01J…`. Sorting by id is sorting by creation; `at`
 * dates an id made later than the thing it names (an access-log row written at flush time), and
 * such an id carries exactly that time.
 */
export const newId = (kind: 'acc' | 'usr' | 'ses' | 'tok' | 'dom' | 'mbx' | 'msg' | 'evt' | 'act' | 'log' | 'cli' | 'grt', at?: number): string =>
  `${kind}_${at === undefined ? ulid() : datedUlid(at)}`;
