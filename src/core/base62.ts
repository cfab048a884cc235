const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;

/** Fixed-width base62, so that every token of a type has the same length. */
export function encodeBase62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % BASE)] + out;
    rest /= BASE;
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

/** Fixed-width base62 of a safe integer, without BigInt: the checksum path runs per request. */
export function encodeBase62Number(value: number, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

/** Digit values by char code; -1 for anything that is not a base62 digit. */
export const BASE62_DIGITS = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i += 1) BASE62_DIGITS[ALPHABET.charCodeAt(i)] = i;

const digitValue = (c: number): number => (c < 128 ? BASE62_DIGITS[c]! : -1);

/** Reads `text[from, to)` as a base62 number (safe integers only), or -1 if a digit is not base62. */
export function decodeBase62Number(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i += 1) {
    const digit = digitValue(text.charCodeAt(i));
    if (digit < 0) return -1;
    value = value * 62 + digit;
  }
  return value;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Digits needed for `bytes` random bytes: ceil(8·bytes / log2 62). */
export const base62Width = (bytes: number): number => Math.ceil((bytes * 8) / Math.log2(62));
