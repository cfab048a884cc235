import { BASE62_DIGITS } from './base62.js';
import { BACKSLASH, isIgnorable, PERCENT, unitAt, unitEnd } from './disguise.js';
import { BODY_LENGTH, CHECKSUM_LENGTH, recognise, SECRET_WORDS, VISIBLE_BODY_CHARS } from './token-format.js';

/** Replaces every secret in a text by what may be shown of it. */
export type Redactor = (text: string) => string;

export const REDACTED = '…[redacted]';

/**
 * The one redaction, applied wherever the server writes text (error messages, logs, the access
 * log, audit details, CSV, stored names): a token of this deployment, recognised by its prefix,
 * type word, length and checksum, becomes its visible prefix and `…[redacted]`; each `literal`
 * (an operator token not in the token format) becomes `[redacted]`.
 *
 * A secret is read through what hides it from a search but not from a reader:
 * - escapes of any of its characters: `%XX` (encoded any number of times, `%255F`), UTF-8 and
 *   `%uXXXX` percent-escapes, and JSON's `\uXXXX` (behind any number of backslashes);
 * - anywhere in it, any number of characters that show as nothing (`isIgnorable`): whitespace,
 *   controls, soft hyphen, zero-width and bidi marks, word joiner, BOM, variation selectors, tags,
 *   fillers; raw, percent-escaped, JSON-escaped (`\n`, `\t`, `\u200b`, as in a JSON log line), or
 *   as the UTF-8 bytes of one read as Latin-1 (as Node reads header bytes).
 * A token's body and checksum after an underscore are redacted even when what precedes them is not
 * its head (a look-alike letter in the word, a changed case, no prefix): the checksum says whose
 * they are. Only the secret's own span is replaced; the text around it is returned as it was,
 * escapes and all (decoding it would let `%0A` or `%22` forge a log line).
 *
 * Cost: a token needs an underscore before its body, raw or escaped, so a text with no `_`, `%` or
 * `\` costs three `indexOf`s. Otherwise what follows each underscore is read until it cannot be a
 * token's tail (49 base62 digits, ignorables between); a full tail is checked against the checksum
 * of each type word, and only a match is read back for its head. A literal is read the same way,
 * from each occurrence of its first character.
 */
export function secretRedactor(prefix: string, literals: readonly string[] = []): Redactor {
  const marker = `${prefix}_`;
  const heads = SECRET_WORDS.map((word) => `${word}_`);
  const keys = literals.map((literal) => [...literal].map((ch) => ch.codePointAt(0)!).filter((cp) => !isIgnorable(cp))).filter((key) => key.length > 0);
  return (text) => {
    const spans: Span[] = [];
    scanTokens(text, prefix, marker, heads, spans);
    for (const key of keys) scanLiteral(text, key, spans);
    return replaceSpans(text, spans);
  };
}

const TAIL = BODY_LENGTH + CHECKSUM_LENGTH;
const UNDERSCORE = 0x5f;

/** Base62 digit values by char code (a local binding: read in the hottest loop). */
const DIGITS: Int8Array = BASE62_DIGITS;
const isBase62 = (cp: number): boolean => cp < 128 && DIGITS[cp]! >= 0;

interface Span {
  start: number;
  end: number;
  with: string;
}

/** The tail's digits, as read by `readTail`. */
const TAIL_CODES = new Uint8Array(TAIL);

/**
 * Reads a token's tail from `from`: 49 base62 digits, any ignorables between them, into
 * `TAIL_CODES`. Returns where the last digit ends, or -1 at the first character that is neither.
 */
function readTail(text: string, from: number): number {
  const length = text.length;
  let digits = 0;
  let i = from;
  while (i < length) {
    const code = text.charCodeAt(i);
    // The common cases, a plain digit or a space, without the unit reader.
    if (code < 0x80 && code !== PERCENT && code !== BACKSLASH) {
      if (DIGITS[code]! >= 0) {
        TAIL_CODES[digits] = code;
        digits += 1;
        i += 1;
        if (digits === TAIL) return i;
      } else if (code <= 0x20 || code === 0x7f) {
        i += 1;
      } else {
        return -1;
      }
      continue;
    }
    const cp = unitAt(text, i);
    i = unitEnd;
    if (isBase62(cp)) {
      TAIL_CODES[digits] = cp;
      if ((digits += 1) === TAIL) return i;
    } else if (!isIgnorable(cp)) {
      return -1;
    }
  }
  return -1;
}

/** Base62 value of the checksum digits in `TAIL_CODES`. */
function tailChecksum(): number {
  let value = 0;
  for (let k = BODY_LENGTH; k < TAIL; k += 1) value = value * 62 + DIGITS[TAIL_CODES[k]!]!;
  return value;
}

/**
 * Whether `text[i]` ends any token that reaches it: a character that is significant, not one of a
 * token's, and cannot be inside an escape or a multi-unit character (so reading may start after it).
 */
function breaksToken(code: number): boolean {
  if (code < 0x80) return code > 0x20 && code !== 0x7f && code !== PERCENT && code !== BACKSLASH && code !== UNDERSCORE && !isBase62(code);
  return code > 0xf4 && !(code >= 0xd800 && code <= 0xdfff) && !isIgnorable(code);
}

/**
 * Where the token whose type word ends at `anchor` (the underscore before its body) starts: the
 * first unit of `head` (prefix, underscore and word), read through the same escapes and
 * ignorables, or -1 if the text before the anchor does not end with it. Reads back no further than
 * `floor` (the end of the last token found) or the last character that breaks a token, then forward.
 */
function headStart(text: string, floor: number, anchor: number, head: string): number {
  let from = anchor;
  while (from > floor && !breaksToken(text.charCodeAt(from - 1))) from -= 1;
  // The significant units in [from, anchor), last `head.length` of them kept, in a ring.
  const size = head.length;
  const codes = new Int32Array(size);
  const starts = new Int32Array(size);
  let count = 0;
  for (let i = from; i < anchor; i = unitEnd) {
    const cp = unitAt(text, i);
    if (isIgnorable(cp)) continue;
    codes[count % size] = cp;
    starts[count % size] = i;
    count += 1;
  }
  if (count < size) return -1;
  for (let k = 0; k < size; k += 1) if (codes[(count - size + k) % size] !== head.charCodeAt(k)) return -1;
  return starts[(count - size) % size]!;
}

/**
 * Finds the tokens of this deployment in `text`. Each underscore (raw, `%5F`, `\u005f`) followed
 * by 49 base62 digits is checked against the checksum each type word would give; only a match is
 * then read back for its head. A body and checksum that match but follow some other head (a word
 * with a look-alike letter, no prefix) are a secret all the same: the body is redacted, the head kept.
 */
function scanTokens(text: string, prefix: string, marker: string, heads: readonly string[], spans: Span[]): void {
  let raw = text.indexOf('_');
  let percent = text.indexOf('%');
  let backslash = text.indexOf('\\');
  let floor = 0;
  for (;;) {
    let at = raw;
    if (percent >= 0 && (at < 0 || percent < at)) at = percent;
    if (backslash >= 0 && (at < 0 || backslash < at)) at = backslash;
    if (at < 0) return;
    let cp = UNDERSCORE;
    let end = at + 1;
    if (at !== raw) {
      // Only `%5F`, `%25…`, `%u005F` or `\u005f` (behind any backslashes) can be an underscore.
      const next = text.charCodeAt(at + 1);
      if (at === percent ? next === 0x35 || next === 0x75 || (next === 0x32 && text.charCodeAt(at + 2) === 0x35) : next === 0x75 || next === BACKSLASH) {
        cp = unitAt(text, at);
        end = unitEnd;
      } else {
        cp = -1;
      }
    }
    // Past the whole unit: no underscore starts inside an escape, and a long `%2525…` or `\\…` is read once.
    let resume = Math.max(at + 1, end);
    const tailEnd = cp === UNDERSCORE ? readTail(text, end) : -1;
    if (tailEnd >= 0 && tailChecksum() <= 0xffffffff) {
      const tail = String.fromCharCode(...TAIL_CODES);
      const head = heads.find((word) => recognise(prefix, `${marker}${word}${tail}`) !== null);
      if (head !== undefined) {
        const visible = tail.slice(0, VISIBLE_BODY_CHARS) + REDACTED;
        const start = headStart(text, floor, at, marker + head.slice(0, -1));
        spans.push(start >= 0 ? { start, end: tailEnd, with: marker + head + visible } : { start: end, end: tailEnd, with: visible });
        floor = tailEnd;
        resume = tailEnd;
      }
    }
    if (raw >= 0 && raw < resume) raw = text.indexOf('_', resume);
    if (percent >= 0 && percent < resume) percent = text.indexOf('%', resume);
    if (backslash >= 0 && backslash < resume) backslash = text.indexOf('\\', resume);
  }
}

/**
 * Finds a configured literal, `key` its code points without ignorables, read the way a token is:
 * from each raw occurrence of its first character and each escape that decodes to it, through
 * escapes and ignorables, until it is complete or a character differs.
 */
function scanLiteral(text: string, key: readonly number[], spans: Span[]): void {
  const first = String.fromCodePoint(key[0]!)[0]!;
  let raw = text.indexOf(first);
  let percent = text.indexOf('%');
  let backslash = text.indexOf('\\');
  for (;;) {
    let at = raw;
    if (percent >= 0 && (at < 0 || percent < at)) at = percent;
    if (backslash >= 0 && (at < 0 || backslash < at)) at = backslash;
    if (at < 0) return;
    let resume = at + 1;
    // A backslash that starts no `\u` escape can only stand for a control character, which no key holds.
    const next = text.charCodeAt(at + 1);
    if (at === raw || at !== backslash || next === 0x75 || next === BACKSLASH) {
      const cp = unitAt(text, at);
      const unit = unitEnd;
      const end = cp === key[0] ? literalEnd(text, unit, key) : -1;
      if (end >= 0) {
        spans.push({ start: at, end, with: '[redacted]' });
        resume = end;
      } else if (at !== raw) {
        // Past the whole escape, as for tokens.
        resume = Math.max(resume, unit);
      }
    }
    if (raw >= 0 && raw < resume) raw = text.indexOf(first, resume);
    if (percent >= 0 && percent < resume) percent = text.indexOf('%', resume);
    if (backslash >= 0 && backslash < resume) backslash = text.indexOf('\\', resume);
  }
}

/** Where the rest of `key` (from its second code point) ends when read from `from`, or -1. */
function literalEnd(text: string, from: number, key: readonly number[]): number {
  let k = 1;
  let i = from;
  while (k < key.length) {
    if (i >= text.length) return -1;
    const code = text.charCodeAt(i);
    if (code < 0x80 && code !== PERCENT && code !== BACKSLASH) {
      i += 1;
      if (code === key[k]) k += 1;
      else if (!(code <= 0x20 || code === 0x7f)) return -1;
      continue;
    }
    const cp = unitAt(text, i);
    i = unitEnd;
    if (cp === key[k]) k += 1;
    else if (!isIgnorable(cp)) return -1;
  }
  return i;
}

/** The text with each span replaced; overlapping spans are joined, the first one's replacement kept. */
function replaceSpans(text: string, spans: Span[]): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let copied = 0;
  for (const span of spans) {
    if (span.start < copied) {
      copied = Math.max(copied, span.end);
      continue;
    }
    out += text.slice(copied, span.start) + span.with;
    copied = span.end;
  }
  return out + text.slice(copied);
}

/** Applies a redactor to every string in a JSON-like value (keys included), leaving its shape. */
export function redactDeep<T>(value: T, redact: Redactor, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[redact(key)] = redactDeep(inner, redact, depth + 1);
  return out as T;
}
