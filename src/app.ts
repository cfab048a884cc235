import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import { installAuth } from './http/auth.js';
import { installContract, optionalBodiesOf } from './http/contract.js';
import type { AppContext } from './http/context.js';
import { clientErrorHandler, errorSender, frameworkErrorHandler, installErrorHandling } from './http/errors.js';
import { installInputRedaction } from './http/redaction.js';
import { secretRedactor } from './core/redaction.js';
import { AuditLog, auditKeys } from './services/audit.js';
import { DomainDirectory } from './services/domain-directory.js';
import { TokenManagement } from './services/tokens/management.js';
import { TokenPresenter } from './services/tokens/presenter.js';
import { createMetrics } from './http/metrics.js';
import { installRequestMetrics, TimedTokenGate } from './http/request-metrics.js';
import { validatorCompiler } from './http/validation.js';
import { DOCS_CSP, installDashboard } from './http/dashboard.js';
import { adminRoutes } from './http/routes/admin.js';
import { auditRoutes } from './http/routes/audit.js';
import { catalogRoutes } from './http/routes/catalog.js';
import { platformRoutes } from './http/routes/platform.js';
import { messageRoutes } from './http/routes/messages.js';
import { MailService } from './services/mail.js';
import { sessionRoutes } from './http/routes/session.js';
import { systemRoutes } from './http/routes/system.js';
import { tokenRoutes } from './http/routes/tokens.js';
import { tokenLifecycleRoutes } from './http/routes/token-lifecycle.js';
import { verifyRoutes } from './http/routes/verify.js';
import { mcpRoutes } from './mcp/endpoint.js';
import { COMPONENTS } from './http/schemas.js';
import { accessLogRoutes } from './http/routes/access-logs.js';
import { installAccessLog } from './http/access-log-hook.js';
import { AccessLogWriter, purgeAccessLogs } from './services/access-log.js';
import { AccountService } from './services/accounts.js';
import { PeopleService } from './services/people.js';
import { connectRedis, memoryRateStore, redisRateStore } from './services/rate-store.js';
import { TokenRateLimiter } from './services/token-rate.js';
import { PeriodicJob } from './services/periodic.js';
import { PasswordThrottle } from './services/throttle.js';
import { TokenLifecycle } from './services/tokens/lifecycle.js';
import { argon2Hasher, type PasswordHasher } from './services/passwords.js';
import { PlatformService } from './services/platform.js';
import { TokenService } from './services/tokens/token-service.js';
import { UsageRecorder } from './services/usage.js';
import { Verifier } from './services/verifier.js';
import { localOnlyFeed, PostgresChangeFeed, type ChangeFeed } from './store/change-feed.js';
import { migrate, openDatabase, reachable, type Db } from './store/database.js';
import { LogReader } from './services/logs.js';
import { storeUpgrades } from './services/upgrade.js';
import { SafeDocumentFetcher, type DocumentFetcher } from './net/document-fetcher.js';
import { ClientDirectory } from './services/oauth/clients.js';
import { AuthorizationService } from './services/oauth/authorize.js';
import { GrantService } from './services/oauth/grants.js';
import { TokenEndpoint } from './services/oauth/token-endpoint.js';
import { IntrospectionService } from './services/oauth/introspection.js';
import { oauthRoutes } from './http/routes/oauth.js';
import { connectedAgentRoutes } from './http/routes/connected-agents.js';
import { peopleRoutes } from './http/routes/people.js';

export interface AppOptions {
  config: Config;
  /** The operator credential's hash (from `ensureOperatorToken`). */
  operatorTokenHash: string;
  /** The audit chain's keys (from `ensureAuditKeys`): the first signs, all verify. */
  auditKeys: string[];
  clock?: Clock;
  db?: Db;
  passwords?: PasswordHasher;
  /** A pino destination; tests pass one to inspect what was logged. */
  logStream?: NodeJS.WritableStream;
  /** Fetches client metadata documents; tests give one that reaches a server of theirs. */
  fetcher?: DocumentFetcher;
  /** Registers extra routes before the app is sealed; they pass through the same auth and access log. */
  extend?: (app: FastifyInstance) => void;
}

export interface Latchkey {
  app: FastifyInstance;
  ctx: AppContext;
  /** Flushes background work and closes the server and the database. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** This process's ids: a random prefix, unique among nodes, and a counter (cheaper per request than a UUID). */
const PROCESS_ID = randomBytes(6).toString('hex');
let requests = 0;
const nextRequestId = (): string => `${PROCESS_ID}-${(requests += 1).toString(36)}`;

/** Wires store, services and HTTP together. Nothing here reads the environment. */
export async function buildApp(options: AppOptions): Promise<Latchkey> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const db = options.db ?? openDatabase(config.database);
  await migrate(db, config.database.dialect, storeUpgrades(options.auditKeys, clock));
  const accessLog = new AccessLogWriter(db, config.accessLog);
  const metrics = createMetrics({ accessLog, accessLogCapacity: config.accessLog.maxQueue });
  // Set once the logger exists; nothing that can fail runs before then.
  let report: (job: string) => (error: unknown) => void = () => () => undefined;
  const feed: ChangeFeed =
    config.database.dialect === 'postgres'
      ? new PostgresChangeFeed(config.database.url, db, (message, error) => report('invalidation feed')(error ?? new Error(message)))
      : localOnlyFeed;
  const verifier = new Verifier({
    db, clock, tokenPrefix: config.tokenPrefix, maxTokens: config.verifyCacheMaxTokens, maxAgeMs: config.verifyCacheMaxAgeMs,
    negativeMaxEntries: config.negativeCacheMaxEntries, negativeTtlMs: config.negativeCacheTtlMs, onOutcome: metrics.recordLookup, feed,
  });
  const usage = new UsageRecorder(db, clock);
  const domains = new DomainDirectory({ db, clock, maxAgeMs: config.verifyCacheMaxAgeMs, feed });
  // One redaction for everything the server writes: this deployment's tokens, and an operator
  // token that is not in the token format.
  const redact = secretRedactor(config.tokenPrefix, config.adminToken ? [config.adminToken] : []);
  const audit = new AuditLog(auditKeys(options.auditKeys), redact);
  const management = new TokenManagement({ clock, limits: config.tokenLimits });
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : null;
  redis?.on('error', (error) => report('redis')(error));
  const rateStore = (counts: string) => (redis ? redisRateStore(redis, `${config.redisPrefix}:${counts}`) : memoryRateStore());
  const tokenRateLimiter = new TokenRateLimiter(rateStore('token-rate'), clock);
  const passwords = options.passwords ?? argon2Hasher(config.argon2);
  const accounts = new AccountService({
    db, clock, audit, passwords, sessionTtlSeconds: config.sessionTtlSeconds,
    throttle: new PasswordThrottle(config.passwordThrottle, rateStore('pw'), clock),
    onPlanChanged: (accountId) => verifier.invalidateAccount(accountId),
  });
  const maxLifetimeSeconds = config.tokenLimits.maxLifetimeSeconds;
  const presenter = new TokenPresenter({ usage, clock });
  const tokens = new TokenService({
    db, clock, verifier, audit, management, presenter, tokenPrefix: config.tokenPrefix, allowScopeEdits: config.allowScopeEdits, maxLifetimeSeconds,
  });
  const lifecycle = new TokenLifecycle({
    db, clock, verifier, audit, management, presenter, tokenPrefix: config.tokenPrefix, defaultGraceSeconds: config.rotationGraceSeconds,
    retentionDays: config.tokenRetentionDays,
  });
  const platform = new PlatformService({ db, clock, audit, management, domains, presenter, lifecycle, tokenPrefix: config.tokenPrefix, maxLifetimeSeconds });
  const gate = new TimedTokenGate({ verifier, clock, usage, rateLimiter: tokenRateLimiter, domains, onDecision: metrics.recordDecision }, metrics.verifyDecision);
  const mail = new MailService({ db, clock, platform });
  const logs = new LogReader({ db, management, audit, tokens });
  const clients = new ClientDirectory({
    db, redact, clock, fetcher: options.fetcher ?? new SafeDocumentFetcher(), rates: rateStore('oauth-register'), registrationsPerHour: config.oauth.registrationsPerHour,
  });
  const grants = new GrantService({ db, clock, audit, verifier, tokenPrefix: config.tokenPrefix, maxLivePerAccount: config.tokenLimits.maxLivePerAccount });
  const oauth = {
    clients,
    grants,
    authorization: new AuthorizationService({ db, clock, audit, clients, tokenPrefix: config.tokenPrefix, membersMayConnect: config.oauth.membersMayConnect, maxLifetimeSeconds: config.tokenLimits.maxLifetimeSeconds }),
    tokens: new TokenEndpoint({ db, clock, audit, grants, tokenPrefix: config.tokenPrefix }),
    introspection: new IntrospectionService({ db, clock, verifier }),
  };
  const people = new PeopleService({
    db, clock, audit, passwords, accounts, verifier, tokenManagers: config.tokenManagers, membersMayConnect: config.oauth.membersMayConnect,
  });
  const ctx: AppContext = {
    config, clock, verifier, usage, audit, management, accounts, people, tokens, lifecycle, platform, mail, logs, accessLog, metrics, gate, redact, oauth,
    storeReachable: () => reachable(db),
  };
  const sendError = errorSender(redact);

  const app = Fastify({
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler(sendError),
    // Every request has an id, answered in X-Request-Id and written in each of its log lines; one a
    // caller (or its proxy) sends is kept when it is plainly an id, so a trace can cross services.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    logger: {
      level: config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      // Only the path is logged: a query string is the one place a careless client puts a secret.
      serializers: { req: (req) => ({ method: req.method, path: String(req.url).split('?')[0], ip: req.ip }) },
      // And whatever a line holds, a secret in it is redacted before it is written.
      hooks: { streamWrite: redact },
    },
  });
  // First, so that every route, the API reference's included, gets its series.
  installRequestMetrics(app, metrics);
  await app.register(cookie);
  installContract(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Latchkey', version: '0.1.0', description: 'Self-hosted API tokens for email platforms', license: { name: 'Proprietary: all rights reserved (see LICENSE in the repository)' } },
      servers: [{ url: '/', description: 'the server this document was fetched from' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'a Latchkey token: `Authorization: Bearer lk_…`' },
          operator: { type: 'http', scheme: 'bearer', description: 'the operator token (LATCHKEY_ADMIN_TOKEN)' },
          session: { type: 'apiKey', in: 'cookie', name: 'latchkey_session', description: 'the session cookie set by POST /v1/auth/login' },
          csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'with a session, on every request that changes something: the csrf_token login returned' },
        },
      },
    },
    // Components named by their schema's $id (Token, Error, …), not def-0.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (document) => optionalBodiesOf('openapiObject' in document ? document.openapiObject : document.swaggerObject),
  });
  // In a context of its own, so that every response under /docs (its static files and their 404s
  // included) gets the reference's policy, and no other route pays for the hook.
  await app.register(async (docs) => {
    docs.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', DOCS_CSP);
      done();
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  for (const component of COMPONENTS) app.addSchema(component);
  app.setValidatorCompiler(validatorCompiler);
  installErrorHandling(app, await installDashboard(app, config.dashboardDir), sendError);
  installInputRedaction(app, redact);
  installAuth(app, { config, gate, accounts, operatorTokenHash: options.operatorTokenHash });
  installAccessLog(app, accessLog, clock, redact);

  systemRoutes(app, ctx);
  adminRoutes(app, ctx);
  sessionRoutes(app, ctx);
  catalogRoutes(app, ctx);
  tokenRoutes(app, ctx);
  tokenLifecycleRoutes(app, ctx);
  platformRoutes(app, ctx);
  messageRoutes(app, ctx);
  auditRoutes(app, ctx);
  accessLogRoutes(app, ctx);
  verifyRoutes(app, ctx);
  mcpRoutes(app, ctx);
  oauthRoutes(app, ctx);
  connectedAgentRoutes(app, ctx);
  peopleRoutes(app, ctx);
  options.extend?.(app);
  await app.ready();

  // Background work starts once the logger exists, so that a failed flush or purge is reported.
  report = (job: string) => (error: unknown) => app.log.error({ err: error, job }, 'background job failed; it will retry');
  await redis?.connect().catch(report('redis'));
  await feed.start(
    (change) => ('domainIds' in change ? domains.forget(change.domainIds) : verifier.forget(change)),
    () => {
      verifier.clear();
      domains.clear();
    },
  );
  usage.start(config.usageFlushIntervalMs, report('last-use flush'));
  accessLog.start(report('access-log flush'));
  const housekeeping = new PeriodicJob(async () => {
    await lifecycle.purgeExpired();
    await purgeAccessLogs(db, clock, config.accessLogRetentionDays);
    await accounts.purgeExpiredSessions();
    await clients.purgeUnused();
  }).start(config.purgeIntervalMs, report('retention purge'));

  return {
    app,
    ctx,
    async close() {
      await feed.stop();
      await housekeeping.stop(false);
      // Keep-alive connections that were mid-request when closing began turn idle afterwards and
      // would hold the close open until the client drops them (72 s here): close them as they do.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      await app.close().finally(() => clearInterval(sweep));
      await Promise.all([usage.stop(), accessLog.stop()]);
      await db.destroy();
      redis?.disconnect();
    },
  };
}

