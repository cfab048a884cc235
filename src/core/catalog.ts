import type { TokenType } from './token-format.js';

/**
 * The default scope catalog and plans of an email platform, as data. Code elsewhere
 * reads these tables; adding a resource or a plan is an edit here and nowhere else.
 */
export interface ResourceDef {
  resource: string;
  label: string;
  /** Levels this resource offers, weakest first. For `api`, `full` implies `read`. */
  levels: readonly string[];
  description: string;
  /** Scopes that must be granted alongside any level of this resource. */
  requires?: readonly string[];
}

const api = (
  resource: string,
  label: string,
  levels: 'read,full' | 'full',
  description: string,
  requires?: string[],
): ResourceDef => ({ resource, label, levels: levels.split(','), description, ...(requires ? { requires } : {}) });

export const RESOURCES: Readonly<Record<TokenType, readonly ResourceDef[]>> = {
  api: [
    api('messages', 'Email', 'read,full', 'Read mail in mailboxes; full access also moves and deletes it'),
    api('submission', 'Email submission', 'full', 'Send email', ['messages:read']),
    api('domains', 'Domains', 'read,full', 'Sending and receiving domains'),
    api('mailboxes', 'Mailboxes', 'read,full', 'Mailboxes of your domains'),
    api('activity', 'Activity', 'read,full', 'Delivery activity of your domains'),
    api('analytics', 'Analytics', 'read,full', 'Aggregated sending statistics'),
    api('tokens', 'API tokens', 'full', 'Create, change and revoke API tokens'),
    api('message_tokens', 'Message tokens', 'full', 'Mint tokens bound to one mailbox'),
    api('webhooks', 'Webhooks', 'full', 'Create and manage webhooks'),
    api('templates', 'Templates', 'full', 'Fetch and delete templates'),
    api('suppressions', 'Suppressions', 'read,full', 'Recipients on suppression lists'),
    api('recipients', 'Recipients', 'read,full', 'Recipients of your messages'),
    api('sender_identities', 'Sender identities', 'read,full', 'Verified sender addresses'),
    api('smtp_users', 'SMTP users', 'read,full', 'SMTP credentials'),
    api('users', 'Users', 'read,full', 'Users of the account'),
    api('inbound_routes', 'Inbound routing', 'full', 'Inbound routes'),
    api('email_verification', 'Email verification', 'read,full', 'Verify email addresses'),
    api('contacts', 'Contacts', 'read,full', 'Contacts and contact groups'),
    api('masked_email', 'Masked Email', 'full', 'See, create and manage masked addresses'),
  ],
  mcp: [
    {
      resource: 'mcp',
      label: 'AI agent',
      levels: ['read', 'write', 'send'],
      description: 'read: search and read data; write: make changes; send: send email',
    },
  ],
  message: [
    {
      resource: 'messages',
      label: 'Mailbox',
      levels: ['read', 'send'],
      description: 'read: read this mailbox; send: send from it',
    },
  ],
};

/** Every scope an AI-agent token can hold, in the catalog's order: what `/mcp` and its authorization server offer. */
export const MCP_SCOPES: readonly string[] = RESOURCES.mcp.flatMap((def) => def.levels.map((level) => `${def.resource}:${level}`));

/** A plan grants the scopes matching any of its rules; a rule's absent fields match anything. */
export interface PlanRule {
  type?: TokenType;
  resource?: string;
  level?: string;
}

export interface PlanDef {
  label: string;
  apiAccess: boolean;
  grants: readonly PlanRule[];
}

/** Cheapest first: `unlocked_by` names the first plan in this order that grants a scope. */
export const PLANS = {
  basic: { label: 'Basic', apiAccess: false, grants: [] },
  nano: { label: 'Nano', apiAccess: true, grants: [{ type: 'api', resource: 'email_verification' }] },
  starter: {
    label: 'Starter',
    apiAccess: true,
    grants: [{ type: 'api', level: 'read' }, { type: 'mcp', level: 'read' }, { type: 'api', resource: 'email_verification' }],
  },
  pro: { label: 'Pro', apiAccess: true, grants: [{}] },
  agency: { label: 'Agency', apiAccess: true, grants: [{}] },
  business: { label: 'Business', apiAccess: true, grants: [{}] },
  enterprise: { label: 'Enterprise', apiAccess: true, grants: [{}] },
} as const satisfies Record<string, PlanDef>;

export type PlanName = keyof typeof PLANS;
export const PLAN_NAMES = Object.keys(PLANS) as PlanName[];

/**
 * The scopes of the token created with a domain: Mailtrap's "Domain Admin",
 * constrained to that one domain.
 */
export const DOMAIN_ADMIN_SCOPES = [
  'domains:full',
  'mailboxes:full',
  'messages:full',
  'submission:full',
  'activity:read',
  'analytics:read',
] as const;
