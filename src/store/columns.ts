import { iso } from '../core/clock.js';

/**
 * How a column's value is stored, declared once for every table: lists and small objects as JSON
 * text (portable across both dialects), instants of the older tables as fixed-width ISO-8601 UTC
 * text (so that they sort as time), closed sets of words as text checked on the way out. A record
 * leaves the store decoded; a stored value the code does not know is a corrupted row, and says so.
 */

export const jsonText = (value: unknown): string => JSON.stringify(value);

export const fromJson = <T>(text: string): T => JSON.parse(text) as T;

export const listOrNull = (text: string | null): string[] | null => (text === null ? null : fromJson<string[]>(text));

export const listOrNullText = (list: readonly string[] | null): string | null => (list === null ? null : jsonText(list));

/** An instant stored as ISO-8601 text, as milliseconds. */
export const instantOf = (text: string): number => Date.parse(text);

export const instantText = (ms: number): string => iso(ms);

export const instantOrNullOf = (text: string | null): number | null => (text === null ? null : Date.parse(text));

export const instantOrNullText = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** A word from a closed set; anything else in a row means the row was not written by this code. */
export function oneOf<const T extends string>(words: readonly T[], column: string): (text: string) => T {
  const known: ReadonlySet<string> = new Set(words);
  return (text) => {
    if (!known.has(text)) throw new Error(`${column} holds '${text}', which is none of ${words.join(', ')}`);
    return text as T;
  };
}

/**
 * The same decoded list for the same stored text, frozen: the verify path compiles each distinct
 * list once and keys what it compiled by the list itself.
 */
export function sharedLists(): (text: string) => readonly string[] {
  const lists = new Map<string, readonly string[]>();
  return (text) => {
    let list = lists.get(text);
    if (list === undefined) {
      list = Object.freeze(fromJson<string[]>(text));
      lists.set(text, list);
    }
    return list;
  };
}
