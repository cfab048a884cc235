import type { ScopeInfo } from '../api';

const LEVELS = [
  { level: null, label: 'No access' },
  { level: 'read', label: 'Read only' },
  { level: 'full', label: 'Full access' },
] as const;

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function satisfied(selected: Set<string>, required: string, catalog: ScopeInfo[]): boolean {
  return selected.has(required) || catalog.some((s) => selected.has(s.scope) && s.implies.includes(required));
}

/** Applies "requires" rules after a change: adding a scope adds what it needs; removing a need drops what needed it. */
export function withRequires(selected: Set<string>, changed: string | null, catalog: ScopeInfo[]): Set<string> {
  const next = new Set(selected);
  const added = changed ? catalog.find((s) => s.scope === changed) : undefined;
  for (const needed of added?.requires ?? []) if (!satisfied(next, needed, catalog)) next.add(needed);
  for (const scope of [...next]) {
    const info = catalog.find((s) => s.scope === scope);
    if (info?.requires.some((needed) => !satisfied(next, needed, catalog))) next.delete(scope);
  }
  return next;
}

/** The strongest available level of every resource: what "Full access" selects. */
export function everything(catalog: ScopeInfo[]): Set<string> {
  const implied = new Set(catalog.filter((s) => s.available).flatMap((s) => s.implies));
  return new Set(catalog.filter((s) => s.available && !implied.has(s.scope)).map((s) => s.scope));
}

const only = (catalog: ScopeInfo[], scopes: readonly string[]) =>
  new Set(catalog.filter((s) => s.available && scopes.includes(s.scope)).map((s) => s.scope));

/**
 * Starting points for the matrix. A new token starts at no access: what it may do is chosen, never
 * left over (GitHub's fine-grained tokens and Stripe's restricted keys start there too).
 */
export const PRESETS: readonly { label: string; pick: (catalog: ScopeInfo[]) => Set<string> }[] = [
  { label: 'Read only', pick: (catalog) => new Set(catalog.filter((s) => s.available && s.level === 'read').map((s) => s.scope)) },
  { label: 'Send email', pick: (catalog) => only(catalog, ['submission:full', 'messages:read']) },
  {
    label: 'Domain admin',
    pick: (catalog) => only(catalog, ['domains:full', 'mailboxes:full', 'messages:full', 'submission:full', 'activity:read', 'analytics:read']),
  },
  { label: 'Full access', pick: everything },
];

export function ScopeMatrix({ catalog, type, selected, onChange }: { catalog: ScopeInfo[]; type: string; selected: Set<string>; onChange: (next: Set<string>) => void }) {
  const scopes = catalog.filter((s) => s.type === type);
  const resources = [...new Set(scopes.map((s) => s.resource))];

  if (type !== 'api') {
    return (
      <fieldset className="scopes">
        <legend>Scopes</legend>
        {scopes.map((s) => (
          <label key={s.scope} className="check">
            <input
              type="checkbox" checked={selected.has(s.scope)} disabled={!s.available}
              onChange={(e) => {
                const next = new Set(selected);
                if (e.target.checked) next.add(s.scope);
                else next.delete(s.scope);
                onChange(withRequires(next, e.target.checked ? s.scope : null, scopes));
              }}
            />
            <span><strong>{capitalise(s.level)}</strong> — {s.description}</span>
            {!s.available && s.unlocked_by && <span className="hint">Needs the {capitalise(s.unlocked_by)} plan</span>}
          </label>
        ))}
      </fieldset>
    );
  }

  const levelOf = (resource: string) => scopes.find((s) => s.resource === resource && selected.has(s.scope))?.level ?? null;
  const setLevel = (resource: string, level: string | null) => {
    const next = new Set([...selected].filter((scope) => !scope.startsWith(`${resource}:`)));
    if (level) next.add(`${resource}:${level}`);
    onChange(withRequires(next, level ? `${resource}:${level}` : null, scopes));
  };

  return (
    <fieldset className="scopes">
      <legend>Scopes</legend>
      <div className="actions" role="group" aria-label="Presets">
        <button type="button" onClick={() => onChange(new Set())}>No access</button>
        {PRESETS.map((preset) => (
          <button type="button" key={preset.label} onClick={() => onChange(withRequires(preset.pick(scopes), null, scopes))}>{preset.label}</button>
        ))}
      </div>
      <table className="matrix">
        <thead>
          <tr>
            <th scope="col">Resource</th>
            {LEVELS.map((l) => <th scope="col" key={l.label}>{l.label}</th>)}
          </tr>
        </thead>
        <tbody>
          {resources.map((resource) => {
            const first = scopes.find((s) => s.resource === resource)!;
            const current = levelOf(resource);
            return (
              <tr key={resource}>
                <th scope="row">
                  {first.label}
                  <span className="hint">{first.description}</span>
                  {first.requires.length > 0 && <span className="hint">Requires {first.requires.join(', ')}</span>}
                </th>
                {LEVELS.map(({ level, label }) => {
                  const info = level ? scopes.find((s) => s.scope === `${resource}:${level}`) : undefined;
                  if (level && !info) return <td key={label} className="na" aria-label={`${label} not offered`}>—</td>;
                  const locked = info !== undefined && !info.available;
                  return (
                    <td key={label}>
                      <label className="cell">
                        <input
                          type="radio" name={`scope-${resource}`} checked={current === level} disabled={locked}
                          aria-label={`${first.label}: ${label}`} onChange={() => setLevel(resource, level)}
                        />
                        {locked && info?.unlocked_by && <span className="hint">{capitalise(info.unlocked_by)}</span>}
                      </label>
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </fieldset>
  );
}
