import { describe, expect, it } from 'vitest';
import { DOMAIN_ADMIN_SCOPES, PLAN_NAMES, PLANS, RESOURCES } from '../../src/core/catalog.js';
import { refusal } from '../helpers/refusal.js';
import {
  closure, effectiveScopes, expandWildcard, narrowScopes, normaliseScopes, planAllows, scopeInfo, scopesOfType, unlockedBy,
} from '../../src/core/scopes.js';
import { TOKEN_TYPES } from '../../src/core/token-format.js';


const API_RESOURCES = [
  ['messages', 'read,full'], ['submission', 'full'], ['domains', 'read,full'], ['mailboxes', 'read,full'], ['activity', 'read,full'],
  ['analytics', 'read,full'], ['tokens', 'full'], ['message_tokens', 'full'], ['webhooks', 'full'], ['templates', 'full'],
  ['suppressions', 'read,full'], ['recipients', 'read,full'], ['sender_identities', 'read,full'], ['smtp_users', 'read,full'],
  ['users', 'read,full'], ['inbound_routes', 'full'], ['email_verification', 'read,full'], ['contacts', 'read,full'], ['masked_email', 'full'],
];

describe('the scope catalog', () => {
  it('offers each api resource at its levels, weakest first, a full level implying the read beside it', () => {
    expect(RESOURCES.api.map((def) => [def.resource, def.levels.join(',')])).toEqual(API_RESOURCES);
    expect(scopeInfo('api', 'domains:full')).toMatchObject({ scope: 'domains:full', type: 'api', resource: 'domains', level: 'full', label: 'Domains', implies: ['domains:read'], requires: [] });
    expect(scopeInfo('api', 'domains:read')?.implies).toEqual([]);
    expect(scopeInfo('api', 'tokens:full')?.implies).toEqual([]);
    expect(scopeInfo('api', 'tokens:read')).toBeUndefined();
    expect(scopeInfo('api', 'submission:full')?.requires).toEqual(['messages:read']);
  });

  it('offers mcp and message tokens their three and two levels, none implying another', () => {
    expect(scopesOfType('mcp').map((info) => info.scope)).toEqual(['mcp:read', 'mcp:write', 'mcp:send']);
    expect(scopesOfType('message').map((info) => info.scope)).toEqual(['messages:read', 'messages:send']);
    for (const type of ['mcp', 'message'] as const) for (const info of scopesOfType(type)) expect(info.implies, info.scope).toEqual([]);
    expect(scopeInfo('message', 'messages:send')).toMatchObject({ type: 'message', resource: 'messages', level: 'send', label: 'Mailbox' });
  });

  it('gives every scope a label and a description to show', () => {
    for (const type of TOKEN_TYPES) {
      for (const info of scopesOfType(type)) {
        expect(info.label.trim(), info.scope).not.toBe('');
        expect(info.description.trim().length, info.scope).toBeGreaterThan(5);
      }
    }
  });

  it('makes a domain’s token a domain admin', () => {
    expect([...DOMAIN_ADMIN_SCOPES]).toEqual(['domains:full', 'mailboxes:full', 'messages:full', 'submission:full', 'activity:read', 'analytics:read']);
    expect(normaliseScopes('api', [...DOMAIN_ADMIN_SCOPES], 'pro')).toEqual([...DOMAIN_ADMIN_SCOPES].sort());
  });
});

describe('the plans', () => {
  const allowed = (plan: (typeof PLAN_NAMES)[number], type: 'api' | 'mcp' | 'message' = 'api') =>
    scopesOfType(type).filter((info) => planAllows(plan, info)).map((info) => info.scope);

  it('run cheapest first, each with its label', () => {
    expect(PLAN_NAMES).toEqual(['basic', 'nano', 'starter', 'pro', 'agency', 'business', 'enterprise']);
    expect(Object.values(PLANS).map((plan) => plan.label)).toEqual(['Basic', 'Nano', 'Starter', 'Pro', 'Agency', 'Business', 'Enterprise']);
  });

  it('give basic no API access, nano email verification, starter the read levels, and the rest everything', () => {
    expect(PLANS.basic.apiAccess).toBe(false);
    for (const type of TOKEN_TYPES) expect(allowed('basic', type)).toEqual([]);
    expect(allowed('nano')).toEqual(['email_verification:read', 'email_verification:full']);
    expect(allowed('nano', 'mcp')).toEqual([]);
    expect(allowed('starter').sort()).toEqual([...scopesOfType('api').filter((info) => info.level === 'read').map((info) => info.scope), 'email_verification:full'].sort());
    expect(allowed('starter', 'mcp')).toEqual(['mcp:read']);
    expect(allowed('starter', 'message')).toEqual([]);
    for (const plan of ['pro', 'agency', 'business', 'enterprise'] as const) {
      expect(PLANS[plan].apiAccess, plan).toBe(true);
      for (const type of TOKEN_TYPES) expect(allowed(plan, type), plan).toEqual(scopesOfType(type).map((info) => info.scope));
    }
  });

  it('name the cheapest plan that unlocks a scope', () => {
    expect(unlockedBy(scopeInfo('api', 'email_verification:full')!)).toBe('nano');
    expect(unlockedBy(scopeInfo('api', 'domains:read')!)).toBe('starter');
    expect(unlockedBy(scopeInfo('api', 'domains:full')!)).toBe('pro');
    expect(unlockedBy(scopeInfo('mcp', 'mcp:read')!)).toBe('starter');
    expect(unlockedBy(scopeInfo('message', 'messages:send')!)).toBe('pro');
  });
});

describe('granted scopes', () => {
  it('close over what they imply, and only for the type they belong to', () => {
    expect([...closure('api', ['domains:full', 'tokens:full'])]).toEqual(['domains:full', 'domains:read', 'tokens:full']);
    expect([...closure('api', ['unknown:scope'])]).toEqual(['unknown:scope']);
    expect([...closure('mcp', ['mcp:send'])]).toEqual(['mcp:send']);
  });

  it('are cut to the plan as what a token may do today', () => {
    expect([...effectiveScopes('api', ['domains:full'], 'starter')]).toEqual(['domains:read']);
    expect([...effectiveScopes('api', ['domains:full'], 'pro')]).toEqual(['domains:full', 'domains:read']);
    expect([...effectiveScopes('api', ['unknown:scope', 'domains:read'], 'pro')]).toEqual(['domains:read']);
  });
});

describe('requested scopes', () => {
  it('are validated, deduplicated, stripped of what another implies, and sorted', () => {
    expect(normaliseScopes('api', ['domains:read', 'domains:full', 'activity:read', 'activity:read'], 'pro')).toEqual(['activity:read', 'domains:full']);
    expect(normaliseScopes('api', ['messages:read', 'submission:full'], 'pro')).toEqual(['messages:read', 'submission:full']);
    expect(normaliseScopes('api', ['messages:full', 'submission:full'], 'pro')).toEqual(['messages:full', 'submission:full']);
  });

  it('refuse none, an unknown one, one the plan does not allow, and one without what it requires', () => {
    expect(refusal(() => normaliseScopes('api', [], 'pro'))).toEqual({ code: 'invalid_request', message: 'at least one scope is required', details: { field: 'scopes' } });
    expect(refusal(() => normaliseScopes('api', ['domains:write'], 'pro'))).toEqual({
      code: 'invalid_request', message: "unknown scope 'domains:write' for api tokens", details: { field: 'scopes', scope: 'domains:write' },
    });
    expect(refusal(() => normaliseScopes('mcp', ['domains:read'], 'pro'))?.message).toBe("unknown scope 'domains:read' for mcp tokens");
    expect(refusal(() => normaliseScopes('api', ['domains:full'], 'starter'))).toEqual({
      code: 'plan_restricted', message: "scope 'domains:full' is not available on the starter plan", details: { scope: 'domains:full', plan: 'starter', unlocked_by: 'pro' },
    });
    expect(refusal(() => normaliseScopes('api', ['submission:full'], 'pro'))).toEqual({
      code: 'invalid_request', message: "scope 'submission:full' requires 'messages:read'", details: { field: 'scopes', scope: 'submission:full', requires: 'messages:read' },
    });
  });

  it('read a lone "*" as the strongest level of everything the plan allows, cut to what a minting token holds', () => {
    expect(normaliseScopes('api', ['*'], 'starter')).toEqual(expandWildcard('api', 'starter'));
    expect(expandWildcard('api', 'nano')).toEqual(['email_verification:full']);
    expect(expandWildcard('mcp', 'starter')).toEqual(['mcp:read']);
    expect(expandWildcard('mcp', 'pro')).toEqual(['mcp:read', 'mcp:write', 'mcp:send']);
    expect(expandWildcard('api', 'pro')).toEqual(RESOURCES.api.map((def) => `${def.resource}:full`));
    expect(normaliseScopes('api', ['*'], 'pro', new Set(['domains:full', 'domains:read', 'tokens:full']))).toEqual(['domains:full', 'tokens:full']);
    expect(normaliseScopes('api', ['*'], 'pro', new Set(['domains:read']))).toEqual(['domains:read']);
    expect(expandWildcard('api', 'basic')).toEqual([]);
    // "*" beside anything else is no wildcard.
    expect(refusal(() => normaliseScopes('api', ['*', 'domains:read'], 'pro'))?.details).toEqual({ field: 'scopes', scope: '*' });
  });
});

describe('narrowing scopes into what is held', () => {
  it('keeps what is held, falls back from full to the read held, and maps a message token’s scopes to their api source', () => {
    expect(narrowScopes('api', ['domains:full', 'tokens:full'], new Set(['domains:read', 'tokens:full']), 'api')).toEqual(['domains:read', 'tokens:full']);
    expect(narrowScopes('api', ['domains:full'], closure('api', ['domains:full']), 'api')).toEqual(['domains:full']);
    expect(narrowScopes('api', ['domains:full'], new Set(['mailboxes:read']), 'api')).toEqual([]);
    expect(narrowScopes('message', ['messages:read', 'messages:send'], new Set(['messages:read']), 'api')).toEqual(['messages:read']);
    expect(narrowScopes('message', ['messages:read', 'messages:send'], new Set(['messages:read', 'submission:full']), 'api')).toEqual(['messages:read', 'messages:send']);
    expect(narrowScopes('message', ['messages:read'], new Set(['messages:read']), 'message')).toEqual(['messages:read']);
    expect(narrowScopes('mcp', ['mcp:read'], new Set(['mcp:read']), 'api')).toEqual([]);
  });
});
