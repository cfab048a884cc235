import { hash, randomBytes } from 'node:crypto';
import { BASE62_DIGITS, base62Width, bytesToBigInt, decodeBase62Number, encodeBase62, encodeBase62Number } from './base62.js';
import { crc32Ascii } from './crc32.js';

/**
 * Token format: `<prefix>_<type word>_<body><checksum>`.
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
/** The authorization server's own secrets, in the same format: an authorization code, a refresh token. */
export const CODE_WORD = 'code';
export const REFRESH_WORD = 'refresh';
/** Every type word a secret of this deployment can carry: what the redactor looks for. */
export const SECRET_WORDS: readonly string[] = [...Object.values(TYPE_WORD), OPERATOR_WORD, CODE_WORD, REFRESH_WORD];

const BODY_BYTES = 32;
export const BODY_LENGTH = base62Width(BODY_BYTES);
export const CHECKSUM_LENGTH = 6;
export const VISIBLE_BODY_CHARS = 8;

export interface MintedSecret {
  secret: string;
  hash: string;
  visiblePrefix: string;
  last4: string;
}

export function checksumOf(text: string): string {
  return encodeBase62Number(crc32Ascii(text), CHECKSUM_LENGTH);
}

/** SHA-256 in base64url, through the one-shot API: no Hash object per request. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
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
 * Where the type word of a token-shaped candidate ends, or -1: length, prefix and separators
 * only, a few comparisons whatever the candidate. Most noise fails here.
 */
function wordEndOf(prefix: string, candidate: string): number {
  const wordStart = prefix.length + 1;
  const wordEnd = candidate.length - BODY_LENGTH - CHECKSUM_LENGTH - 1;
  if (wordEnd <= wordStart || wordEnd - wordStart > 8 || !candidate.startsWith(prefix) || candidate.charCodeAt(prefix.length) !== UNDERSCORE) {
    return -1;
  }
  return candidate.indexOf('_', wordStart) === wordEnd ? wordEnd : -1;
}

/** Whether a candidate is shaped like a token of this deployment; its checksum is not read. */
export const hasTokenShape = (prefix: string, candidate: string): boolean => wordEndOf(prefix, candidate) >= 0;

/**
 * Recognises a token of this deployment without any I/O: the right shape, a known type word and
 * a matching checksum. Returns the type word, or null for anything else.
 */
export function recognise(prefix: string, candidate: string): string | null {
  const wordEnd = wordEndOf(prefix, candidate);
  if (wordEnd < 0) return null;
  const payloadEnd = candidate.length - CHECKSUM_LENGTH;
  const checksum = decodeBase62Number(candidate, payloadEnd, candidate.length);
  if (checksum < 0 || checksum !== crc32Ascii(candidate, payloadEnd, wordEnd + 1, BASE62_DIGITS)) return null;
  return candidate.slice(prefix.length + 1, wordEnd);
}

const UNDERSCORE = 0x5f;

export function tokenTypeOfWord(word: string): TokenType | null {
  for (const type of TOKEN_TYPES) if (TYPE_WORD[type] === word) return type;
  return null;
}
