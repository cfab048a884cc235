import type { ScopeInfo } from '../api';
import { levelWord } from '../format';

export interface GrantChoice {
  type: string;
  selected: Set<string>;
  domains: string[] | null;
  ips: string[];
  expiry: string;
}

/** What the token will be able to do, in words, read before Create is pressed. */
export function GrantSummary({ catalog, choice }: { catalog: ScopeInfo[]; choice: GrantChoice }) {
  const scopes = catalog.filter((s) => s.type === choice.type && choice.selected.has(s.scope));
  return (
    <section className="summary" aria-labelledby="grant-summary">
      <h2 id="grant-summary">This token will be able to</h2>
      {scopes.length === 0 ? (
        <p>Nothing yet: choose a preset, or a level for each resource it needs.</p>
      ) : (
        <ul>{scopes.map((s) => <li key={s.scope}>{s.label}: {levelWord(s.level)}</li>)}</ul>
      )}
      <p className="hint">
        {choice.domains === null ? 'On every domain' : choice.domains.length ? `Only on ${choice.domains.join(', ')}` : 'On no domain yet: choose at least one'}
        {'; '}
        {choice.ips.length ? `only from ${choice.ips.join(', ')}` : 'from any address'}
        {'; '}
        {choice.expiry}.
      </p>
    </section>
  );
}
