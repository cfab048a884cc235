import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseDuration } from './core/duration.js';
import { normaliseAllowlist } from './core/ip-allowlist.js';

/**
 * The whole configuration, parsed and validated once at start-up. Nothing else reads
 * `process.env`; everything else receives this object (or the part of it it needs).
 */
export interface Config {
  port: number;
  host: string;
  database: { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string; poolSize: number };
  /** Operator credential; when absent one is generated on first start and its hash kept. */
  adminToken: string | null;
  /**
   * Keys of the audit chain's HMAC, the first signing and all verifying (so a key can be rotated);
   * none: on SQLite one is generated into a file beside the database, on PostgreSQL it is required.
   */
  auditKeys: string[];
  /** Shared counters for throttling and per-token rate limits; null: each node counts in memory. */
  redisUrl: string | null;
  /** What every key Latchkey keeps in Redis starts with: deployments sharing one Redis keep apart. */
  redisPrefix: string;
  /** Proxy addresses allowed to set X-Forwarded-For; false: the socket address counts. */
  trustProxy: string[] | false;
  reauthWindowSeconds: number;
  sessionTtlSeconds: number;
  tokenPrefix: string;
  allowScopeEdits: boolean;
  tokenManagers: readonly ('owner' | 'admin')[];
  usageFlushIntervalMs: number;
  /** How long the old secret keeps working after a rotation when the request names no grace period. */
  rotationGraceSeconds: number;
  tokenRetentionDays: number;
  accessLogRetentionDays: number;
  purgeIntervalMs: number;
  accessLog: { flushIntervalMs: number; maxQueue: number };
  /** Bounds on what an account may hold. */
  tokenLimits: {
    /** The latest expiry a token may be given, in seconds from now; null: only the year-9999 limit. */
    maxLifetimeSeconds: number | null;
    /** Live (not revoked, deleted or expired) tokens per account. */
    maxLivePerAccount: number;
    /** Live tokens below one token in its tree: what it minted, transitively. */
    maxLiveDescendants: number;
  };
  verifyCacheMaxTokens: number;
  negativeCacheMaxEntries: number;
  negativeCacheTtlMs: number;
  verifyCacheMaxAgeMs: number;
  cookieSecure: boolean;
  passwordThrottle: { maxFailuresPerAccount: number; maxFailuresPerIp: number; windowSeconds: number };
  createDemoAccount: boolean;
  /** The built dashboard (`npm run build:dashboard`); absent, the API still runs. */
  dashboardDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** argon2id cost; the defaults follow OWASP's recommendation (19 MiB, 2 passes). */
  argon2: { memoryCost: number; timeCost: number };
  /** Browser origins (`https://app.example.com`) allowed to call `/mcp`; a request with any other `Origin` is refused. */
  mcp: { allowedOrigins: string[] };
  /** The origin clients reach this server at (`https://latchkey.example.com`): the OAuth issuer and the MCP resource. Null: each request's own. */
  publicUrl: string | null;
  oauth: { membersMayConnect: boolean; registrationsPerHour: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An origin as browsers send it (`https://app.example.com:8443`): a scheme and a host, nothing after. */
function originOf(entry: string): string | null {
  if (!URL.canParse(entry)) return null;
  const url = new URL(entry);
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  return bare && url.origin !== 'null' ? url.origin : null;
}

const EnvSchema = z.object({
  LATCHKEY_PUBLIC_URL: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return null;
      const origin = originOf(value.replace(/\/$/, ''));
      if (origin !== null) return origin;
      ctx.addIssue({ code: 'custom', message: 'must be an origin such as https://latchkey.example.com' });
      return z.NEVER;
    }),
  LATCHKEY_OAUTH_MEMBERS_MAY_CONNECT: bool.default(false),
  LATCHKEY_OAUTH_REGISTRATIONS_PER_HOUR: int(1, 100_000).default(20),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LATCHKEY_DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…')
    .default('sqlite:./data/latchkey.db'),
  LATCHKEY_DATABASE_POOL_SIZE: int(1, 200).default(10),
  LATCHKEY_REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'must be redis://… or rediss://…').optional(),
  LATCHKEY_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, `.`, `_` or `-`').default('latchkey'),
  LATCHKEY_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  LATCHKEY_AUDIT_KEY: z
    .string()
    .transform((value) => value.split(',').map((key) => key.trim()))
    .refine((keys) => keys.every((key) => key.length >= 32), 'each comma-separated key must be at least 32 characters')
    .optional(),
  LATCHKEY_MAX_TOKEN_LIFETIME: z
    .string()
    .refine((v) => (parseDuration(v) ?? 0) > 0 && parseDuration(v)! <= 100 * 365 * 86_400, 'must be a duration such as 90d or 52w, at most 36500d')
    .optional(),
  LATCHKEY_MAX_TOKENS_PER_ACCOUNT: int(1, 10_000_000).default(5000),
  LATCHKEY_MAX_DESCENDANTS_PER_TOKEN: int(1, 10_000_000).default(1000),
  LATCHKEY_TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return false as const;
      const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
      const presets = entries.filter((e) => PROXY_PRESETS.has(e));
      try {
        return [...presets, ...normaliseAllowlist(entries.filter((e) => !PROXY_PRESETS.has(e)))];
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  LATCHKEY_REAUTH_WINDOW: int(0, 86_400).default(600),
  LATCHKEY_SESSION_TTL: int(60, 30 * 86_400).default(43_200),
  LATCHKEY_TOKEN_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{1,11}$/, 'must be 2–12 lowercase letters or digits, starting with a letter')
    .default('lk'),
  LATCHKEY_ALLOW_SCOPE_EDITS: bool.default(true),
  LATCHKEY_TOKEN_MANAGERS: z.enum(['owner,admin', 'owner']).default('owner,admin'),
  LATCHKEY_USAGE_FLUSH_INTERVAL_MS: int(10, 600_000).default(2000),
  LATCHKEY_ROTATION_GRACE: z
    .string()
    .regex(/^(0|\d{1,6}[smhd])$/, 'must be a duration such as 12h (0 to 7d)')
    .refine((v) => v === '0' || (parseDuration(v) ?? Infinity) <= 7 * 86_400, 'must be at most 7d')
    .default('12h'),
  LATCHKEY_TOKEN_RETENTION_DAYS: int(0, 3650).default(30),
  LATCHKEY_ACCESS_LOG_RETENTION_DAYS: int(1, 3650).default(90),
  LATCHKEY_PURGE_INTERVAL_MS: int(1000, 86_400_000).default(3_600_000),
  LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS: int(10, 60_000).default(1000),
  LATCHKEY_ACCESS_LOG_MAX_QUEUE: int(100, 10_000_000).default(100_000),
  LATCHKEY_VERIFY_CACHE_MAX_TOKENS: int(1, 50_000_000).default(2_000_000),
  LATCHKEY_NEGATIVE_CACHE_MAX: int(0, 10_000_000).default(100_000),
  LATCHKEY_NEGATIVE_CACHE_TTL_MS: int(0, 3_600_000).default(30_000),
  LATCHKEY_VERIFY_CACHE_MAX_AGE_MS: int(1000, 86_400_000).default(60_000),
  LATCHKEY_COOKIE_SECURE: bool.default(false),
  LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT: int(1, 10_000).default(10),
  LATCHKEY_LOGIN_MAX_FAILURES_PER_IP: int(1, 100_000).default(50),
  LATCHKEY_LOGIN_FAILURE_WINDOW: int(1, 86_400).default(900),
  LATCHKEY_DEMO_ACCOUNT: bool.default(true),
  LATCHKEY_DASHBOARD_DIR: z.string().min(1).optional(),
  LATCHKEY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LATCHKEY_ARGON2_MEMORY_KIB: int(1024, 1_048_576).default(19_456),
  LATCHKEY_ARGON2_PASSES: int(1, 10).default(2),
  LATCHKEY_MCP_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const origins = entries.map(originOf);
      const bad = entries.find((_, i) => origins[i] === null);
      if (bad === undefined) return origins as string[];
      ctx.addIssue({ code: 'custom', message: `'${bad}' is not an origin such as https://app.example.com` });
      return z.NEVER;
    }),
});

/** The folder holding package.json, whether running from src/ (tsx) or dist/src/ (built). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const url = e.LATCHKEY_DATABASE_URL;
  return {
    port: e.PORT,
    host: e.HOST,
    database: url.startsWith('sqlite:')
      ? { dialect: 'sqlite', path: url.slice('sqlite:'.length) }
      : { dialect: 'postgres', url, poolSize: e.LATCHKEY_DATABASE_POOL_SIZE },
    adminToken: e.LATCHKEY_ADMIN_TOKEN ?? null,
    auditKeys: e.LATCHKEY_AUDIT_KEY ?? [],
    redisUrl: e.LATCHKEY_REDIS_URL ?? null,
    redisPrefix: e.LATCHKEY_REDIS_PREFIX,
    trustProxy: e.LATCHKEY_TRUST_PROXY,
    reauthWindowSeconds: e.LATCHKEY_REAUTH_WINDOW,
    sessionTtlSeconds: e.LATCHKEY_SESSION_TTL,
    tokenPrefix: e.LATCHKEY_TOKEN_PREFIX,
    allowScopeEdits: e.LATCHKEY_ALLOW_SCOPE_EDITS,
    tokenManagers: e.LATCHKEY_TOKEN_MANAGERS === 'owner' ? ['owner'] : ['owner', 'admin'],
    usageFlushIntervalMs: e.LATCHKEY_USAGE_FLUSH_INTERVAL_MS,
    rotationGraceSeconds: e.LATCHKEY_ROTATION_GRACE === '0' ? 0 : parseDuration(e.LATCHKEY_ROTATION_GRACE)!,
    tokenRetentionDays: e.LATCHKEY_TOKEN_RETENTION_DAYS,
    accessLogRetentionDays: e.LATCHKEY_ACCESS_LOG_RETENTION_DAYS,
    purgeIntervalMs: e.LATCHKEY_PURGE_INTERVAL_MS,
    accessLog: { flushIntervalMs: e.LATCHKEY_ACCESS_LOG_FLUSH_INTERVAL_MS, maxQueue: e.LATCHKEY_ACCESS_LOG_MAX_QUEUE },
    tokenLimits: {
      maxLifetimeSeconds: e.LATCHKEY_MAX_TOKEN_LIFETIME === undefined ? null : parseDuration(e.LATCHKEY_MAX_TOKEN_LIFETIME)!,
      maxLivePerAccount: e.LATCHKEY_MAX_TOKENS_PER_ACCOUNT,
      maxLiveDescendants: e.LATCHKEY_MAX_DESCENDANTS_PER_TOKEN,
    },
    verifyCacheMaxTokens: e.LATCHKEY_VERIFY_CACHE_MAX_TOKENS,
    negativeCacheMaxEntries: e.LATCHKEY_NEGATIVE_CACHE_MAX,
    negativeCacheTtlMs: e.LATCHKEY_NEGATIVE_CACHE_TTL_MS,
    verifyCacheMaxAgeMs: e.LATCHKEY_VERIFY_CACHE_MAX_AGE_MS,
    cookieSecure: e.LATCHKEY_COOKIE_SECURE,
    passwordThrottle: {
      maxFailuresPerAccount: e.LATCHKEY_LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: e.LATCHKEY_LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: e.LATCHKEY_LOGIN_FAILURE_WINDOW,
    },
    createDemoAccount: e.LATCHKEY_DEMO_ACCOUNT,
    dashboardDir: e.LATCHKEY_DASHBOARD_DIR ?? join(packageRoot(), 'dist', 'dashboard'),
    logLevel: e.LATCHKEY_LOG_LEVEL,
    argon2: { memoryCost: e.LATCHKEY_ARGON2_MEMORY_KIB, timeCost: e.LATCHKEY_ARGON2_PASSES },
    mcp: { allowedOrigins: e.LATCHKEY_MCP_ALLOWED_ORIGINS },
    publicUrl: e.LATCHKEY_PUBLIC_URL,
    oauth: { membersMayConnect: e.LATCHKEY_OAUTH_MEMBERS_MAY_CONNECT, registrationsPerHour: e.LATCHKEY_OAUTH_REGISTRATIONS_PER_HOUR },
  };
}
