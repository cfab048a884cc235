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

export function isBase62(text: string, from = 0): boolean {
  for (let i = from; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Digits needed for `bytes` random bytes: ceil(8·bytes / log2 62). */
export const base62Width = (bytes: number): number => Math.ceil((bytes * 8) / Math.log2(62));
