import type { Manager } from '../../core/authority.js';
import { relatedAmong, type DbOrTrx } from '../../store/tokens.js';

/**
 * What a token may be told about other tokens: only of those it is related to (itself, what is
 * below it, its own predecessors). Everything else, its ancestors above all, does not exist for it,
 * so an id of one met in a reason or a detail reads as this instead.
 */
export const UNSEEN_TOKEN = '(a token this one does not manage)';
/** Who a person is, or the operator, is not a token's business either. */
export const UNSEEN_PERSON = '(someone of the account)';

const TOKEN_ID = /tok_[0-9A-Z]{26}/g;

/** The token ids a text mentions. */
export const mentionedTokens = (texts: Iterable<string | null>): string[] => {
  const ids = new Set<string>();
  for (const text of texts) for (const id of text?.match(TOKEN_ID) ?? []) ids.add(id);
  return [...ids];
};

/** The ids among `ids` that `manager` may be told of. */
export const seenBy = (db: DbOrTrx, accountId: string, manager: Manager, ids: readonly string[]): Promise<Set<string>> =>
  relatedAmong(db, accountId, manager, ids);

/** `text` with every token id not in `seen` replaced by `UNSEEN_TOKEN`. */
export const hideUnseen = (text: string, seen: ReadonlySet<string>): string => text.replace(TOKEN_ID, (id) => (seen.has(id) ? id : UNSEEN_TOKEN));
