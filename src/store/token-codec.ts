/**
 * How a token's place in its tree is stored: the lineages above it as `/tok_a/tok_b/`, so that
 * "every descendant of lineage L" is one `like '%/L/%'` over the account's tokens.
 */
export const encodeAncestry = (lineages: readonly string[]): string => (lineages.length ? `/${lineages.join('/')}/` : '');

export const decodeAncestry = (text: string): string[] => (text === '' ? [] : text.slice(1, -1).split('/'));

/** The `like` pattern matching every ancestry that contains `lineage` (ids hold `_`, a wildcard). */
export const descendantPattern = (lineage: string): string => `%/${lineage.replace(/[\\%_]/g, (ch) => `\\${ch}`)}/%`;
