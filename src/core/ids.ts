import { randomFillSync } from 'node:crypto';
import { monotonicFactory, ulid as datedUlid } from 'ulidx';

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
 * Sortable ids with a readable kind: `tok_01J…`. Sorting by id is sorting by creation; `at`
 * dates an id made later than the thing it names (an access-log row written at flush time). A
 * dated id carries exactly its time: the monotonic generator would date it at the latest id made
 * so far, so a row written late would sort as if it happened then.
 */
export const newId = (kind: 'acc' | 'usr' | 'ses' | 'tok' | 'dom' | 'mbx' | 'msg' | 'evt' | 'act' | 'log', at?: number): string =>
  `${kind}_${at === undefined ? ulid() : datedUlid(at, pooledRandom)}`;
