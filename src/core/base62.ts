const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;
const DECODE = new Map<string, bigint>([...ALPHABET].map((ch, i) => [ch, BigInt(i)]));

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

export function isBase62(text: string): boolean {
  for (const ch of text) if (!DECODE.has(ch)) return false;
  return true;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Digits needed for `bytes` random bytes: ceil(8·bytes / log2 62). */
export const base62Width = (bytes: number): number => Math.ceil((bytes * 8) / Math.log2(62));
