import { isoOrNull } from '../../core/clock.js';
import type { TokenRecord } from '../../store/token-codec.js';

/** The fields of a token an edit (or a narrowing from above) may change, in the order an audit event lists them. */
const EDITABLE = ['name', 'description', 'scopes', 'domains', 'ip_allowlist', 'expires_at', 'rate_limit'] as const;

export type Editable = Pick<TokenRecord, (typeof EDITABLE)[number]>;

/** What an audit event says of a change: each changed field's value before and after, as the API shows it. */
export type Changes = Partial<Record<(typeof EDITABLE)[number], { from: unknown; to: unknown }>>;

const shown = (field: keyof Editable, value: Editable[keyof Editable]): unknown =>
  field === 'expires_at' ? isoOrNull(value as number | null) : value;

/** Lists are sets: the same entries in another order are no change. */
const canonical = (value: unknown): string =>
  JSON.stringify(Array.isArray(value) ? [...(value as string[])].sort() : value);

/**
 * The difference an edit makes: of the fields `next` names, those whose value changes, as the
 * fields to write and as the changes to record. Pure, so that the rule is the same for an owner's
 * edit and for a narrowing cascading down a tree.
 */
export function editOf(current: Editable, next: Partial<Editable>): { fields: Partial<Editable>; changes: Changes } {
  const fields: Partial<Editable> = {};
  const changes: Changes = {};
  for (const field of EDITABLE) {
    if (!(field in next) || next[field] === undefined) continue;
    const to = next[field];
    if (canonical(current[field]) === canonical(to)) continue;
    (fields as Record<string, unknown>)[field] = to;
    changes[field] = { from: shown(field, current[field]), to: shown(field, to!) };
  }
  return { fields, changes };
}
