import { monotonicFactory } from 'ulidx';

const ulid = monotonicFactory();

/** Sortable ids with a readable kind: `tok_01J…`. Sorting by id is sorting by creation. */
export const newId = (kind: 'acc' | 'usr' | 'ses' | 'tok' | 'dom' | 'mbx' | 'msg' | 'evt' | 'act' | 'log'): string =>
  `${kind}_${ulid()}`;
