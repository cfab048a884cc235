import { BODY_LENGTH, CHECKSUM_LENGTH, OPERATOR_WORD, recognise, TYPE_WORD, VISIBLE_BODY_CHARS } from './token-format.js';

/** Replaces every secret in a text by what may be shown of it. */
export type Redactor = (text: string) => string;

export const REDACTED = '…[redacted]';

/**
 * The one redaction, applied wherever the server writes text (error messages, logs, the access
 * log, audit details, CSV, stored names): a token of this deployment, recognised by its prefix,
 * type word, length and checksum, becomes its visible prefix and `…[redacted]`; each `literal`
 * (an operator token not in the token format) becomes `[redacted]`. A text with neither is
 * returned as it is after one `indexOf`, so the request path can afford it.
 *
 * A percent-encoded secret (`lk%5Flive%5F…`, or encoded twice, `lk%255F…`) is a secret too: such
 * text is decoded and, if that reveals one, returned decoded and redacted.
 */
export function secretRedactor(prefix: string, literals: readonly string[] = []): Redactor {
  const marker = `${prefix}_`;
  const heads = [...Object.values(TYPE_WORD), OPERATOR_WORD].map((word) => `${word}_`);
  const plain = (text: string): string => {
    let out = text.includes(marker) ? redactTokens(text, prefix, marker, heads) : text;
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join('[redacted]');
    return out;
  };
  return (text) => {
    if (text.includes('%')) {
      const decoded = decodeEscapes(text);
      if (decoded !== text) {
        const redacted = plain(decoded);
        if (redacted !== decoded) return redacted;
      }
    }
    return plain(text);
  };
}

const ASCII_ESCAPE = /%([0-7][0-9A-Fa-f])/g;
const MAX_ENCODINGS = 4;

/**
 * Decodes `%XX` escapes of ASCII characters (all a token is made of), one escape at a time so
 * that a stray `%` elsewhere cannot stop it, and again for text encoded more than once.
 */
function decodeEscapes(text: string): string {
  let out = text;
  for (let round = 0; round < MAX_ENCODINGS && out.includes('%'); round += 1) {
    const next = out.replace(ASCII_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (next === out) break;
    out = next;
  }
  return out;
}

const TAIL = BODY_LENGTH + CHECKSUM_LENGTH;
/**
 * What a secret pasted by hand may carry inside it without ceasing to be one: line breaks and
 * spaces where it was wrapped, and characters that show as nothing (soft hyphen, zero-width
 * space and joiners, word joiner, byte-order mark).
 */
const IGNORABLE = /[\s\u00AD\u200B-\u200D\u2060\uFEFF]/;
const MAX_IGNORED = 16;

/** The token's tail read from `from`, past ignorable characters: its characters and where it ends, or null. */
function tailAt(text: string, from: number): { chars: string; end: number } | null {
  let chars = '';
  let ignored = 0;
  let i = from;
  while (chars.length < TAIL && i < text.length) {
    const ch = text[i]!;
    if (BASE62.test(ch)) chars += ch;
    else if (!(IGNORABLE.test(ch) && chars.length > 0 && (ignored += 1) <= MAX_IGNORED)) break;
    i += 1;
  }
  return chars.length === TAIL ? { chars, end: i } : null;
}

const BASE62 = /[0-9A-Za-z]/;

function redactTokens(text: string, prefix: string, marker: string, heads: readonly string[]): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf(marker);
  while (at >= 0) {
    let next = at + 1;
    const wordAt = at + marker.length;
    for (const head of heads) {
      if (!text.startsWith(head, wordAt)) continue;
      const tail = tailAt(text, wordAt + head.length);
      if (tail !== null && recognise(prefix, `${marker}${head}${tail.chars}`) !== null) {
        out += text.slice(copied, at) + marker + head + tail.chars.slice(0, VISIBLE_BODY_CHARS) + REDACTED;
        copied = tail.end;
        next = tail.end;
      }
      break;
    }
    at = text.indexOf(marker, next);
  }
  return copied === 0 ? text : out + text.slice(copied);
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
