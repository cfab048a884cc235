import type {} from '@fastify/swagger';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { AccessLogWriter } from '../services/access-log.js';
import type { AccountService } from '../services/accounts.js';
import type { PeopleService } from '../services/people.js';
import type { AuditLog } from '../services/audit.js';
import type { TokenManagement } from '../services/tokens/management.js';
import type { TokenGate } from '../services/token-gate.js';
import type { TokenLifecycle } from '../services/tokens/lifecycle.js';
import type { PlatformService } from '../services/platform.js';
import type { TokenService } from '../services/tokens/token-service.js';
import type { UsageRecorder } from '../services/usage.js';
import type { Verifier } from '../services/verifier.js';
import type { LogReader } from '../services/logs.js';
import type { MailService } from '../services/mail.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from '../core/redaction.js';
import type { ClientDirectory } from '../services/oauth/clients.js';
import type { AuthorizationService } from '../services/oauth/authorize.js';
import type { TokenEndpoint } from '../services/oauth/token-endpoint.js';
import type { GrantService } from '../services/oauth/grants.js';
import type { IntrospectionService } from '../services/oauth/introspection.js';

/** What route modules are handed: configuration and use cases, never the raw environment. */
export interface AppContext {
  config: Config;
  clock: Clock;
  verifier: Verifier;
  usage: UsageRecorder;
  audit: AuditLog;
  management: TokenManagement;
  accounts: AccountService;
  people: PeopleService;
  tokens: TokenService;
  lifecycle: TokenLifecycle;
  platform: PlatformService;
  mail: MailService;
  logs: LogReader;
  /** Whether the database answers: what `/readyz` reports. */
  storeReachable(): Promise<boolean>;
  accessLog: AccessLogWriter;
  metrics: Metrics;
  gate: TokenGate;
  /** Replaces any secret in a text by what may be shown of it (see `core/redaction.ts`). */
  redact: Redactor;
  /** The authorization server for /mcp. */
  oauth: { clients: ClientDirectory; authorization: AuthorizationService; tokens: TokenEndpoint; grants: GrantService; introspection: IntrospectionService };
}
