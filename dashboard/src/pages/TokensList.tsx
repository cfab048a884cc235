import { useEffect, useState } from 'react';
import { api, ApiError, filters, http, type Domain, type Page, type Token } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { StatusBadge } from '../components/StatusBadge';
import { dateTime, day, relativeDay } from '../format';
import { Link } from '../router';

const TYPE_LABELS = { api: 'API', mcp: 'AI agent', message: 'Mailbox' } as const;

export function scopeSummary(scopes: string[]): string {
  if (scopes.length <= 3) return scopes.join(', ');
  return `${scopes.slice(0, 3).join(', ')} +${scopes.length - 3} more`;
}

/** The domains a constraint names, by name; null `domains`: the account's domains are still loading. */
export function domainSummary(ids: string[] | null, domains: Domain[] | null): string {
  if (ids === null) return 'All domains';
  if (domains === null) return '…';
  return ids.map((id) => domains.find((d) => d.id === id)?.name ?? 'deleted domain').join(', ');
}

/**
 * A page's rows: tokens someone created stand alone, with the secrets a rotation replaced (still
 * in their grace, or past it) under the token that replaced them, as one lineage; those an agent
 * got through OAuth are gathered under it where its first one was.
 */
type Row = { kind: 'token'; token: Token; replaced: Token[] } | { kind: 'agent'; grantId: string; clientName: string; tokens: Token[] };

export function rowsOf(tokens: Token[]): Row[] {
  const rows: Row[] = [];
  const groups = new Map<string, Token[]>();
  const onPage = new Map(tokens.map((token) => [token.id, token]));
  const replacedBy = new Map<string, Token[]>();
  // Follow each replaced secret to the newest of its lineage on this page.
  const newestOf = (token: Token): Token => {
    let current = token;
    for (let hops = 0; current.rotated_to && onPage.has(current.rotated_to) && hops < tokens.length; hops += 1) current = onPage.get(current.rotated_to)!;
    return current;
  };
  for (const token of tokens) {
    const newest = newestOf(token);
    if (newest !== token) replacedBy.set(newest.id, [...(replacedBy.get(newest.id) ?? []), token]);
  }
  for (const token of tokens) {
    if (newestOf(token) !== token) continue;
    const agent = token.connected_agent;
    if (agent === null) {
      rows.push({ kind: 'token', token, replaced: replacedBy.get(token.id) ?? [] });
      continue;
    }
    const group = groups.get(agent.grant_id);
    if (group) group.push(token);
    else {
      const fresh = [token];
      groups.set(agent.grant_id, fresh);
      rows.push({ kind: 'agent', grantId: agent.grant_id, clientName: agent.client_name, tokens: fresh });
    }
  }
  return rows;
}

function TokenRow({ token: t, domains, nested = false, replaced = false }: { token: Token; domains: Domain[] | null; nested?: boolean; replaced?: boolean }) {
  return (
    <tr className={nested ? 'nested' : undefined}>
      <td className="name">
        <Link to={`/tokens/${t.id}`}><bdi>{t.name}</bdi></Link>
        <span className="hint">{replaced ? 'the secret a rotation replaced' : TYPE_LABELS[t.type]}</span>
      </td>
      <td className="status"><StatusBadge status={t.status} /></td>
      <td className="prefix"><code>{t.visible_prefix}…{t.last4}</code></td>
      <td className="wide-only">{scopeSummary(t.scopes)}</td>
      <td className="wide-only">{t.type === 'message' ? 'One mailbox' : domainSummary(t.domains, domains)}</td>
      <td className="wide-only"><span className="date">{day(t.created_at)}</span><span className="hint">by <bdi>{t.created_by.name}</bdi>{t.created_by_removed && ', a removed user'}</span></td>
      <td className="last-used">
        <span className="narrow-only">Last used </span>
        {t.last_used_at ? <><span className="date">{dateTime(t.last_used_at)}</span><span className="hint">from {t.last_used_ip}</span></> : 'Never'}
      </td>
      <td className="wide-only">
        {t.revoked_at
          ? <><span className="date">Revoked {dateTime(t.revoked_at)}</span>{t.revoke_reason && <span className="hint"><bdi>{t.revoke_reason}</bdi></span>}</>
          : t.expires_at === null
            ? 'Never'
            : Date.parse(t.expires_at) <= Date.now()
              ? <span className="date">Expired {day(t.expires_at)}</span>
              : <><span className="date">{day(t.expires_at)}</span><span className="hint">{relativeDay(t.expires_at)}</span></>}
      </td>
    </tr>
  );
}

/** One row for a connected agent's tokens, opened to show them; the agent itself is managed under Connected agents. */
function AgentRows({ row, domains }: { row: Extract<Row, { kind: 'agent' }>; domains: Domain[] | null }) {
  const [open, setOpen] = useState(false);
  const count = `${row.tokens.length} token${row.tokens.length === 1 ? '' : 's'}`;
  return (
    <>
      <tr className="agent-row">
        <td colSpan={8} className="agent-cell">
          <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
            <bdi>{row.clientName}</bdi> (connected agent) — {count}
          </button>
          <span className="hint">Issued through OAuth; <Link to="/connected-agents">disconnect it under Connected agents</Link>.</span>
        </td>
      </tr>
      {open && row.tokens.map((t) => <TokenRow key={t.id} token={t} domains={domains} nested />)}
    </>
  );
}

export function TokensList() {
  const [status, setStatus] = useState('live');
  const [type, setType] = useState('');
  const [q, setQ] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Token> | null>(null);
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    void api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data), () => setDomains([]));
  }, []);
  useEffect(() => {
    setPage(null);
    api(() => http.GET('/v1/tokens', { params: { query: { ...filters({ status: status as Token['status'], type: type as Token['type'], q, cursor: cursor ?? undefined }), limit: 20 } } })).then(setPage, (e) =>
      setError(e instanceof ApiError ? e.message : 'Could not load tokens.'),
    );
  }, [status, type, q, cursor]);
  const filter = (set: (v: string) => void) => (value: string) => {
    set(value);
    setCursors([null]);
  };

  return (
    <main>
      <div className="heading">
        <h1>API tokens</h1>
        <Link to="/tokens/new" className="button primary">Create token</Link>
      </div>
      <div className="filters" role="search">
        <label>
          Status
          <select value={status} onChange={(e) => filter(setStatus)(e.target.value)}>
            <option value="live">Active and paused</option>
            <option value="">All</option>
            <option value="active">Active</option>
            <option value="paused">Paused</option>
            <option value="expired">Expired</option>
            <option value="revoked">Revoked</option>
          </select>
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => filter(setType)(e.target.value)}>
            <option value="">All</option>
            <option value="api">API</option>
            <option value="mcp">AI agent</option>
            <option value="message">Mailbox</option>
          </select>
        </label>
        <label className="search">
          Search
          <input type="search" value={q} placeholder="Name, description or prefix" onChange={(e) => filter(setQ)(e.target.value)} />
        </label>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {!page && !error && <p aria-live="polite">Loading…</p>}
      {page && page.data.length === 0 && (
        <div className="empty">
          <h2>No tokens {(status && status !== 'live') || type || q ? 'match these filters' : 'yet'}</h2>
          {status === 'live' && <p>Revoked and expired tokens, if any, are not listed here: <button type="button" className="link" onClick={() => filter(setStatus)('')}>show them too</button>.</p>}
          <p>
            A token lets a script, CI job, integration or AI agent use this account's API with exactly the access you choose: which
            resources, which domains, from which addresses, and for how long. It is shown once, and you can pause, rotate or revoke it at
            any time.
          </p>
        </div>
      )}
      {page && page.data.length > 0 && (
        <ScrollTable label="Tokens">
          <table className="tokens">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Status</th><th scope="col">Token</th><th scope="col" className="wide-only">Scopes</th>
                <th scope="col" className="wide-only">Domains</th><th scope="col" className="wide-only">Created</th><th scope="col">Last used</th><th scope="col" className="wide-only">Expires</th>
              </tr>
            </thead>
            <tbody>
              {rowsOf(page.data).map((row) =>
                row.kind === 'token'
                  ? [<TokenRow key={row.token.id} token={row.token} domains={domains} />, ...row.replaced.map((old) => <TokenRow key={old.id} token={old} domains={domains} nested replaced />)]
                  : <AgentRows key={row.grantId} row={row} domains={domains} />,
              )}
            </tbody>
          </table>
        </ScrollTable>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <button type="button" disabled={!page?.next_cursor} onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}>Next page</button>
      </nav>
    </main>
  );
}
