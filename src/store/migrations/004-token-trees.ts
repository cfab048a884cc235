import type { Kysely, Migration } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * Brings every token tree inside the rule once more: a store that took 003 from the release that
 * first shipped it was upgraded without looking below expired, revoked or rotated-out tokens, and
 * what sat there still works. On a store already inside the rule, as every new one is, the walk
 * changes nothing, so a start stopped between this committing and its record (SQLite) repeats it
 * harmlessly. The walk itself is the application's (`after`).
 */
export function tokenTrees(dialect: Dialect, after?: (trx: Kysely<any>) => Promise<void>): Migration {
  return {
    up: async (db: Kysely<any>) => {
      if (!after) return;
      await (dialect === 'sqlite' ? db.transaction().execute(after) : after(db));
    },
    async down(): Promise<void> {
      // Nothing to undo: it only narrowed and revoked, as the rule says.
    },
  };
}
