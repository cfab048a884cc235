import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62Width, bytesToBigInt, encodeBase62, encodeBase62Number, isBase62 } from './base62.js';

/**
 * Token format (SPEC §3): `<prefix>_<type word>_<body><checksum>`.
 * The body is 32 CSPRNG bytes in base62 (43 digits); the checksum is the CRC32 of everything
 * before it, 6 base62 digits. A scanner can recognise a real token offline, and the verify path
 * throws away typos and noise before it hashes or looks anything up.
 */
export const TOKEN_TYPES = ['api', 'mcp', 'message'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

export const TYPE_WORD = { api: 'live', mcp: 'mcp', message: 'msg' } as const satisfies Record<
  TokenType,
  string
>;
/** The operator credential uses the same format so that it, too, is recognisable when leaked. */
export const OPERATOR_WORD = 'admin';

const BODY_BYTES = 32;
export const BODY_LENGTH = base62Width(BODY_BYTES);
export const CHECKSUM_LENGTH = 6;
const VISIBLE_BODY_CHARS = 8;

export interface MintedSecret {
  secret: string;
  hash: string;
  visiblePrefix: string;
  last4: string;
}

export function checksumOf(text: string): string {
  return encodeBase62Number(crc32(text), CHECKSUM_LENGTH);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function mintSecret(prefix: string, word: string): MintedSecret {
  const head = `${prefix}_${word}_`;
  const body = encodeBase62(bytesToBigInt(randomBytes(BODY_BYTES)), BODY_LENGTH);
  const secret = head + body + checksumOf(head + body);
  return {
    secret,
    hash: hashSecret(secret),
    visiblePrefix: head + body.slice(0, VISIBLE_BODY_CHARS),
    last4: secret.slice(-4),
  };
}

/**
 * Recognises a token of this deployment without any I/O: the right shape, a known type word and
 * a matching checksum. Returns the type word, or null for anything else.
 */
export function recognise(prefix: string, candidate: string): string | null {
  const tail = BODY_LENGTH + CHECKSUM_LENGTH;
  if (candidate.length > prefix.length + 8 + tail || !candidate.startsWith(prefix + '_')) return null;
  const wordEnd = candidate.indexOf('_', prefix.length + 1);
  if (wordEnd < 0 || candidate.length - wordEnd - 1 !== tail) return null;
  const word = candidate.slice(prefix.length + 1, wordEnd);
  if (!isBase62(candidate, wordEnd + 1)) return null;
  const payloadEnd = candidate.length - CHECKSUM_LENGTH;
  return candidate.endsWith(checksumOf(candidate.slice(0, payloadEnd))) ? word : null;
}

export function tokenTypeOfWord(word: string): TokenType | null {
  for (const type of TOKEN_TYPES) if (TYPE_WORD[type] === word) return type;
  return null;
}
