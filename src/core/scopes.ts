import { ApiError, invalidRequest } from './errors.js';
import { PLANS, PLAN_NAMES, RESOURCES, type PlanName, type PlanRule } from './catalog.js';
import { sourceScope } from './access.js';
import type { TokenType } from './token-format.js';

export interface ScopeInfo {
  scope: string;
  type: TokenType;
  resource: string;
  level: string;
  label: string;
  description: string;
  /** Weaker scopes this one includes (`domains:full` includes `domains:read`). */
  implies: readonly string[];
  requires: readonly string[];
}

function buildCatalog(type: TokenType): Map<string, ScopeInfo> {
  const scopes = new Map<string, ScopeInfo>();
  for (const def of RESOURCES[type]) {
    const fullImpliesRead = type === 'api' && def.levels.includes('read') && def.levels.includes('full');
    for (const level of def.levels) {
      const scope = `${def.resource}:${level}`;
      scopes.set(scope, {
        scope,
        type,
        resource: def.resource,
        level,
        label: def.label,
        description: def.description,
        implies: fullImpliesRead && level === 'full' ? [`${def.resource}:read`] : [],
        requires: def.requires ?? [],
      });
    }
  }
  return scopes;
}

const CATALOG: Record<TokenType, Map<string, ScopeInfo>> = {
  api: buildCatalog('api'),
  mcp: buildCatalog('mcp'),
  message: buildCatalog('message'),
};

export const scopeInfo = (type: TokenType, scope: string): ScopeInfo | undefined => CATALOG[type].get(scope);

export const scopesOfType = (type: TokenType): ScopeInfo[] => [...CATALOG[type].values()];

const matches = (rule: PlanRule, info: ScopeInfo): boolean =>
  (rule.type === undefined || rule.type === info.type) &&
  (rule.resource === undefined || rule.resource === info.resource) &&
  (rule.level === undefined || rule.level === info.level);

export function planAllows(plan: PlanName, info: ScopeInfo): boolean {
  const def = PLANS[plan];
  return def.apiAccess && def.grants.some((rule: PlanRule) => matches(rule, info));
}

/** The cheapest plan that grants a scope, for "upgrade to unlock" hints. */
export function unlockedBy(info: ScopeInfo): PlanName | null {
  return PLAN_NAMES.find((plan) => planAllows(plan, info)) ?? null;
}

/** Every scope a set of granted scopes includes, implied ones added. */
export function closure(type: TokenType, granted: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const scope of granted) {
    out.add(scope);
    for (const implied of CATALOG[type].get(scope)?.implies ?? []) out.add(implied);
  }
  return out;
}

/** What a token may actually do today: its grant, implied scopes added, cut to the plan. */
export function effectiveScopes(type: TokenType, granted: Iterable<string>, plan: PlanName): Set<string> {
  const out = new Set<string>();
  for (const scope of closure(type, granted)) {
    const info = CATALOG[type].get(scope);
    if (info && planAllows(plan, info)) out.add(scope);
  }
  return out;
}

/**
 * `["*"]`: the strongest level of every resource the plan allows for this type, cut to `within`
 * when a token mints (a wildcard from a token means "everything I have", never more).
 */
export function expandWildcard(type: TokenType, plan: PlanName, within?: ReadonlySet<string>): string[] {
  const allowed = scopesOfType(type).filter((info) => planAllows(plan, info) && (!within || within.has(info.scope)));
  const impliedByOthers = new Set(allowed.flatMap((info) => info.implies));
  return allowed.map((info) => info.scope).filter((scope) => !impliedByOthers.has(scope));
}

/**
 * Checks requested scopes against the catalog, the plan and the "requires" rules, and returns
 * them normalised (wildcard expanded, duplicates and implied scopes dropped, sorted).
 */
export function normaliseScopes(
  type: TokenType,
  requested: readonly string[],
  plan: PlanName,
  within?: ReadonlySet<string>,
): string[] {
  if (requested.length === 1 && requested[0] === '*') return expandWildcard(type, plan, within);
  if (requested.length === 0) throw invalidRequest('scopes', 'at least one scope is required');
  for (const scope of requested) {
    const info = CATALOG[type].get(scope);
    if (!info) throw invalidRequest('scopes', `unknown scope '${scope}' for ${type} tokens`, { scope });
    if (!planAllows(plan, info)) {
      throw new ApiError('plan_restricted', `scope '${scope}' is not available on the ${plan} plan`, {
        scope,
        plan,
        unlocked_by: unlockedBy(info),
      });
    }
  }
  const all = closure(type, requested);
  for (const scope of requested) {
    for (const needed of CATALOG[type].get(scope)!.requires) {
      if (!all.has(needed)) {
        throw invalidRequest('scopes', `scope '${scope}' requires '${needed}'`, { scope, requires: needed });
      }
    }
  }
  const impliedByOthers = new Set([...new Set(requested)].flatMap((s) => CATALOG[type].get(s)!.implies));
  return [...new Set(requested)].filter((scope) => !impliedByOthers.has(scope)).sort();
}

/**
 * What is left of `scopes` (of a `type` token) inside `held` (a closure, of `heldType`): each scope
 * kept if held, a `full` level falling back to the `read` it implies when only that is held; the
 * result normalised like `normaliseScopes` (implied scopes dropped, sorted).
 */
export function narrowScopes(type: TokenType, scopes: readonly string[], held: ReadonlySet<string>, heldType: TokenType): string[] {
  const kept = [...closure(type, scopes)].filter((scope) => {
    const needed = sourceScope(type, scope, heldType);
    return needed !== null && held.has(needed);
  });
  const implied = new Set(kept.flatMap((scope) => CATALOG[type].get(scope)?.implies ?? []));
  return kept.filter((scope) => !implied.has(scope)).sort();
}
