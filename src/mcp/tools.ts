import * as z from 'zod';
import { isoOrNull } from '../core/clock.js';
import type { TokenType } from '../core/token-format.js';
import { MAIL_TOOLS } from './mail-tools.js';
import { ID, pageOutcome, NEXT, page, tool, TOOL_SCOPES, type ToolDef, type ToolName } from './tool-kit.js';

export { TOOL_SCOPES, type ToolDef, type ToolName };

const DOMAIN = z.object({ id: z.string(), name: z.string(), created_at: z.string() });
const MAILBOX = z.object({ id: z.string(), domain_id: z.string(), address: z.string(), created_at: z.string() });
const EVENT = z.object({
  id: z.string(), domain_id: z.string(), event: z.string().describe('accepted: sent out by this domain; delivered: received by a mailbox of this domain.'),
  from: z.string(), to: z.string(), subject: z.string(), at: z.string(),
});

const TYPE_LABEL: Record<TokenType, string> = { api: 'API token', mcp: 'AI-agent token', message: 'message token' };

/** What holding a scope lets an agent do here, in the words of the tools it opens. */
export function scopeMeaning(type: TokenType, scope: string): string {
  const tools = (Object.keys(TOOL_SCOPES) as ToolName[]).filter((name) => (TOOL_SCOPES[name] as Partial<Record<TokenType, string>>)[type] === scope);
  return tools.length === 0 ? 'no tool of this server needs it yet' : `lets you call ${tools.join(', ')}`;
}

const whoami = tool({
  name: 'whoami',
  title: 'What this token may do',
  description:
    'Describe the token you are using: its name, its scopes and what each lets you do, the domains (or the one mailbox) it is limited to, ' +
    'the addresses it may be used from, its rate limit and expiry, and the tools you can call. Call it first when unsure what you may do; it changes nothing.',
  input: z.strictObject({}),
  output: z.object({
    token: z.object({ id: z.string(), name: z.string(), type: z.enum(['api', 'mcp', 'message']) }),
    account_id: z.string(),
    plan: z.string(),
    scopes: z.array(z.object({ scope: z.string(), meaning: z.string() })).describe('The scopes in force now.'),
    scopes_not_on_plan: z.array(z.string()).describe('Granted, but the account’s plan does not allow them today.'),
    domains: z.array(z.object({ id: z.string(), name: z.string() })).nullable().describe('null: every domain of the account.'),
    mailbox: z.object({ id: z.string(), address: z.string() }).nullable().describe('A message token’s one mailbox.'),
    ip_allowlist: z.array(z.string()).nullable().describe('null: any address.'),
    rate_limit: z.object({ requests: z.number(), per_seconds: z.number() }).nullable(),
    expires_at: z.string().nullable(),
    tools: z.array(z.string()).describe('The tools you may call.'),
  }),
  async run({ grant, principal, platform, callable }) {
    const scopes = [...grant.effective].sort().map((scope) => ({ scope, meaning: scopeMeaning(grant.type, scope) }));
    const notOnPlan = [...grant.granted].filter((scope) => !grant.effective.has(scope)).sort();
    const domains = grant.domains === null ? null : (await platform.listDomains(principal, 100)).data.map(({ id, name }) => ({ id, name }));
    const mailbox = grant.mailboxId === null ? null : await platform.getMailbox(principal, grant.mailboxId).then(({ id, address }) => ({ id, address }), () => null);
    const own = grant.budgets.find((budget) => budget.own);
    const structured = {
      token: { id: grant.id, name: grant.name, type: grant.type },
      account_id: grant.accountId,
      plan: grant.plan,
      scopes,
      scopes_not_on_plan: notOnPlan,
      domains,
      mailbox,
      ip_allowlist: grant.ipAllowlist === null ? null : [...grant.ipAllowlist.entries],
      rate_limit: own ? { requests: own.requests, per_seconds: own.perSeconds } : null,
      expires_at: isoOrNull(grant.expiresAt),
      tools: [...callable],
    };
    const reach = mailbox ? `the mailbox ${mailbox.address} only` : domains === null ? 'every domain of the account' : domains.length === 0 ? 'no domain (its domains are gone)' : `only ${domains.map((d) => d.name).join(', ')}`;
    const lines = [
      `You are using the ${TYPE_LABEL[grant.type]} "${grant.name}" (${grant.id}) of account ${grant.accountId}, on the ${grant.plan} plan.`,
      scopes.length === 0 ? 'It holds no scope in force.' : `Scopes: ${scopes.map((s) => `${s.scope} (${s.meaning})`).join('; ')}.`,
      ...(notOnPlan.length ? [`Granted but not on the plan today: ${notOnPlan.join(', ')}.`] : []),
      `It reaches ${reach}.`,
      `It may be used from ${structured.ip_allowlist === null ? 'any address' : structured.ip_allowlist.join(', ')}; ` +
        `rate limit: ${own ? `${own.requests} requests per ${own.perSeconds} s` : 'none'}; expires: ${structured.expires_at ?? 'never'}.`,
      `Tools you can call: ${callable.join(', ') || 'none'}.`,
    ];
    return { structured, text: lines.join('\n') };
  },
});

const listDomains = tool({
  name: 'list_domains',
  title: 'List domains',
  description:
    'List the email domains this token can see, newest first, with their ids. Use a domain id with list_mailboxes. ' +
    'A token limited to some domains sees only those. Paged: when next_cursor is not null, call again with it as cursor.',
  input: z.strictObject(page),
  output: z.object({ domains: z.array(DOMAIN), next_cursor: NEXT }),
  async run({ principal, platform }, { limit, cursor }) {
    return pageOutcome('domains', await platform.listDomains(principal, limit, cursor), { noun: ['domain', 'domains'], none: 'No domains.', each: (d) => `${d.name} (${d.id})` });
  },
});

const listMailboxes = tool({
  name: 'list_mailboxes',
  title: 'List a domain’s mailboxes',
  description:
    'List the mailboxes (email addresses) of one domain, newest first. domain_id is an id from list_domains (it starts with "dom_"); ' +
    'a domain this token cannot see is reported as not found. Paged like list_domains.',
  input: z.strictObject({ domain_id: ID.describe('The domain’s id, from list_domains, e.g. "dom_01J…".'), ...page }),
  output: z.object({ mailboxes: z.array(MAILBOX), next_cursor: NEXT }),
  async run({ principal, platform }, { domain_id, limit, cursor }) {
    const page = await platform.listMailboxes(principal, domain_id, limit, cursor);
    return pageOutcome('mailboxes', page, { noun: ['mailbox', 'mailboxes'], none: 'No mailboxes in this domain.', each: (m) => `${m.address} (${m.id})` });
  },
});

const listActivity = tool({
  name: 'list_activity',
  title: 'List mail activity',
  description:
    'List recent mail activity of the domains this token can see, newest first: each message accepted for sending or delivered to a mailbox, ' +
    'with sender, recipient, subject and time. Paged like list_domains.',
  input: z.strictObject(page),
  output: z.object({ events: z.array(EVENT), next_cursor: NEXT }),
  async run({ principal, platform }, { limit, cursor }) {
    return pageOutcome('events', await platform.listActivity(principal, limit, cursor), {
      noun: ['event', 'events'], none: 'No activity.', each: (e) => `${e.at} ${e.event} ${e.from} → ${e.to}: ${e.subject}`, layout: 'lines',
    });
  },
});

export const TOOLS: readonly ToolDef[] = [whoami, listDomains, listMailboxes, listActivity, ...MAIL_TOOLS];
export const TOOL_BY_NAME: ReadonlyMap<string, ToolDef> = new Map(TOOLS.map((def) => [def.name, def]));

/** The scope a token of this type needs for the tool; undefined: its type may not call it. */
export const scopeFor = (name: ToolName, type: TokenType): string | undefined =>
  (TOOL_SCOPES[name] as Partial<Record<TokenType, string>>)[type];
