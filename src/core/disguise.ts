/**
 * How a character may be disguised in text that is logged or stored, and read back through the
 * disguise: escapes (percent, any number of times over; UTF-8 and `%uXXXX`; JSON's, behind any
 * number of backslashes), the UTF-8 bytes of a character read as Latin-1, and characters that show
 * as nothing at all. The secret redactor reads text through this; names shown to people are
 * refused when nothing in them would show.
 */
export const PERCENT = 0x25;
export const BACKSLASH = 0x5c;

/**
 * Code points that show as nothing, or as blank space, or only as a mark on the character before
 * them, so a reader can drop them: every control (Cc) and format character (Cf), every
 * non-spacing and enclosing mark (Mn, Me), every separator (Z), and Default_Ignorable_Code_Point
 * (the test checks each class), with the fillers and blanks that are letters or symbols by class
 * but draw nothing (Hangul fillers, the Braille blank, the object replacement character, the
 * musical null notehead). Ranges are inclusive.
 */
const IGNORABLE_CLASSES = /^[\p{Cc}\p{Cf}\p{Mn}\p{Me}\p{Z}\p{Default_Ignorable_Code_Point}]$/u;
const IGNORABLE_RANGES: readonly (readonly [number, number])[] = [
  [0x115f, 0x1160], [0x2800, 0x2800], [0x3164, 0x3164], [0xffa0, 0xffa0], [0xfff0, 0xfff8], [0xfffc, 0xfffc],
  [0x1d159, 0x1d159], [0x1d173, 0x1d17a], [0xe0000, 0xe0fff],
];
const IGNORABLE_BMP = new Uint8Array(0x10000);
for (let cp = 0; cp < 0x10000; cp += 1) if (cp < 0xd800 || cp > 0xdfff) IGNORABLE_BMP[cp] = IGNORABLE_CLASSES.test(String.fromCharCode(cp)) ? 1 : 0;
for (const [from, to] of IGNORABLE_RANGES) if (from < 0x10000) IGNORABLE_BMP.fill(1, from, to + 1);

/** Whether a code point shows as nothing of its own (see `IGNORABLE_CLASSES`). */
export function isIgnorable(cp: number): boolean {
  if (cp < 0x10000) return IGNORABLE_BMP[cp] === 1;
  return IGNORABLE_CLASSES.test(String.fromCodePoint(cp)) || IGNORABLE_RANGES.some(([from, to]) => cp >= from && cp <= to);
}

// The unit reader: `unitAt(text, i)` is the code point the text means at `i` (an escape decoded),
// and `unitEnd` where that unit ends. One module-level slot, so that reading allocates nothing.
export let unitEnd = 0;
/** Set by `percentAt`: whether the escape was `%uXXXX` (a UTF-16 unit) rather than a byte. */
let percentWide = false;

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

function hexAt(text: string, i: number, digits: number): number {
  if (i + digits > text.length) return -1;
  let value = 0;
  for (let k = 0; k < digits; k += 1) {
    const digit = hexDigit(text.charCodeAt(i + k));
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * The byte (or, for `%uXXXX`, the UTF-16 unit) a percent-escape at `i` stands for, reading through
 * `%25` for each further encoding (`%255F` is `_` encoded twice), or -1 if `i` starts no escape.
 */
function percentAt(text: string, i: number): number {
  let j = i + 1;
  let nested = false;
  percentWide = false;
  for (;;) {
    if (text.charCodeAt(j) === 0x75) {
      const unit = hexAt(text, j + 1, 4);
      if (unit >= 0) {
        unitEnd = j + 5;
        percentWide = true;
        return unit;
      }
    }
    const byte = hexAt(text, j, 2);
    if (byte < 0) {
      unitEnd = j;
      return nested ? PERCENT : -1;
    }
    j += 2;
    if (byte !== PERCENT) {
      unitEnd = j;
      return byte;
    }
    nested = true;
  }
}

/** The code point of a percent-escaped character at `i`: one escape, or the UTF-8 bytes of one. */
function percentUnitAt(text: string, i: number): number {
  const first = percentAt(text, i);
  if (first < 0) {
    unitEnd = i + 1;
    return PERCENT;
  }
  const firstEnd = unitEnd;
  if (percentWide) {
    if (first >= 0xd800 && first <= 0xdbff && text.charCodeAt(firstEnd) === PERCENT) {
      const low = percentAt(text, firstEnd);
      if (percentWide && low >= 0xdc00 && low <= 0xdfff) return 0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00);
    }
    unitEnd = firstEnd;
    return first;
  }
  if (first < 0x80) return first;
  const more = first >= 0xc2 && first <= 0xdf ? 1 : first >= 0xe0 && first <= 0xef ? 2 : first >= 0xf0 && first <= 0xf4 ? 3 : 0;
  let cp = first & (0x3f >> more);
  let j = firstEnd;
  for (let k = 0; k < more; k += 1) {
    const next = text.charCodeAt(j) === PERCENT ? percentAt(text, j) : -1;
    if (next < 0x80 || next > 0xbf || percentWide) {
      cp = -1;
      break;
    }
    cp = (cp << 6) | (next & 0x3f);
    j = unitEnd;
  }
  if (more > 0 && validUtf8(cp, more)) {
    unitEnd = j;
    return cp;
  }
  // Not UTF-8: the byte alone, read as Latin-1 (as `escape()` writes `%AD` for a soft hyphen).
  unitEnd = firstEnd;
  return first;
}

const validUtf8 = (cp: number, more: number): boolean =>
  cp >= [0, 0x80, 0x800, 0x10000][more]! && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);

const JSON_ESCAPES: Record<number, number> = { 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b };

/** A JSON-style escape at `i`, behind any number of backslashes (`\n`, `\\n`, `\u200b`), or the backslash alone. */
function backslashUnitAt(text: string, i: number): number {
  let j = i + 1;
  while (text.charCodeAt(j) === BACKSLASH) j += 1;
  const letter = text.charCodeAt(j);
  const named = JSON_ESCAPES[letter];
  if (named !== undefined) {
    unitEnd = j + 1;
    return named;
  }
  if (letter === 0x75) {
    const unit = hexAt(text, j + 1, 4);
    if (unit >= 0) {
      unitEnd = j + 5;
      if (unit >= 0xd800 && unit <= 0xdbff && text.charCodeAt(unitEnd) === BACKSLASH) {
        let k = unitEnd + 1;
        while (text.charCodeAt(k) === BACKSLASH) k += 1;
        const low = text.charCodeAt(k) === 0x75 ? hexAt(text, k + 1, 4) : -1;
        if (low >= 0xdc00 && low <= 0xdfff) {
          unitEnd = k + 5;
          return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        }
      }
      return unit;
    }
  }
  // Not an escape: the whole run is one character, so a long run is read once, not once per backslash.
  unitEnd = j;
  return BACKSLASH;
}

/** The UTF-8 bytes of an ignorable character read as Latin-1 (`\u00e2\u0080\u008b` for U+200B), or -1. */
function latin1Utf8At(text: string, i: number, first: number): number {
  const more = first <= 0xdf ? 1 : first <= 0xef ? 2 : 3;
  let cp = first & (0x3f >> more);
  for (let k = 1; k <= more; k += 1) {
    const next = text.charCodeAt(i + k);
    if (!(next >= 0x80 && next <= 0xbf)) return -1;
    cp = (cp << 6) | (next & 0x3f);
  }
  if (!validUtf8(cp, more) || !isIgnorable(cp)) return -1;
  unitEnd = i + 1 + more;
  return cp;
}

export function unitAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code === PERCENT) return percentUnitAt(text, i);
  if (code === BACKSLASH) return backslashUnitAt(text, i);
  if (code >= 0xc2 && code <= 0xf4) {
    const cp = latin1Utf8At(text, i, code);
    if (cp >= 0) return cp;
  } else if (code >= 0xd800 && code <= 0xdbff) {
    const low = text.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) {
      unitEnd = i + 2;
      return 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
  }
  unitEnd = i + 1;
  return code;
}
