import { isIgnorable } from './disguise.js';

/**
 * Text a person reads in a list or a header (a token's name, an account's, a description, a
 * revocation's reason) must read as it is stored. Bidirectional controls (embeddings, overrides,
 * isolates and the direction marks) make it read in another order, so that `ci-deploy-only-read`
 * on screen can be something else underneath; a name of nothing but characters that show as
 * nothing hides its token in the list.
 */
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export type DisplayText = 'name' | 'text';

/** A letter, digit, punctuation mark or symbol that draws something: not a mark alone, not unassigned. */
const shows = (ch: string): boolean => /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) && !isIgnorable(ch.codePointAt(0)!);

/** Why `text` cannot be shown as it is (`name`: it must show something), or null. */
export function displayTextProblem(text: string, kind: DisplayText): string | null {
  if (BIDI_CONTROL.test(text)) return 'must not hold bidirectional control characters (U+202A–U+202E, U+2066–U+2069, direction marks)';
  if (kind === 'name' && ![...text].some(shows)) return 'must hold at least one visible character';
  return null;
}

/**
 * Names a client chose (query parameters, tool arguments, methods) may hold control characters;
 * PostgreSQL stores no NUL, and one in an access-log batch would fail the whole batch's write.
 * They are shown, not stored, as U+FFFD.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
export const printable = (text: string): string => text.replace(CONTROL, '\uFFFD');
