/**
 * CRC-32 (IEEE 802.3, the one zlib computes) over the char codes of an ASCII string.
 * `zlib.crc32` takes a string too, but encodes it to a buffer first; the verify path runs this
 * on every request, where that copy cost as much as the SHA-256 after it.
 */
const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n += 1) {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/**
 * The checksum of `text[0, end)`, or -1 if any of those characters is not ASCII or, from
 * `allowedFrom` on, not allowed by `allowed` (a table by char code). Validating in the same pass
 * reads each character once.
 */
export function crc32Ascii(text: string, end = text.length, allowedFrom = end, allowed?: Int8Array): number {
  let crc = -1;
  for (let i = 0; i < end; i += 1) {
    const code = text.charCodeAt(i);
    if (code > 0x7f || (i >= allowedFrom && allowed![code]! < 0)) return -1;
    crc = TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}
