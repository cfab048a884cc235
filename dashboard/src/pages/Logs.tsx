import { useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, filters, http, query, type AuditEvent, type Page, type Token } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { dateTime, dateTimeSeconds } from '../format';
import { Link } from '../router';

/** The actions people look for most; the field takes any other too. */
const COMMON_ACTIONS = [
  'token.created', 'token.updated', 'token.paused', 'token.resumed', 'token.rotated', 'token.revoked', 'token.deleted',
  'domain.created', 'domain.deleted', 'user.created', 'user.role_changed', 'user.removed', 'user.password_changed', 'user.password_reset',
  'auth.login', 'auth.login_failed', 'auth.logout_everywhere', 'oauth.authorization_allowed', 'oauth.grant_disconnected', 'oauth.replay_detected',
];

/** Where an event's target lives in the dashboard, when it has a page. */
function targetOf(event: AuditEvent): ReactNode {
  const target = event.target;
  if (!target) return '—';
  const name = <bdi>{target.name ?? target.id}</bdi>;
  if (target.type === 'token' && target.id) return <Link to={`/tokens/${target.id}`}>{name}</Link>;
  if (target.type === 'user') return <Link to="/people">{name}</Link>;
  if (target.type === 'domain') return <Link to="/domains">{name}</Link>;
  if (target.type === 'oauth_grant' || target.type === 'oauth_client') return <Link to="/connected-agents">{name}</Link>;
  return name;
}

/** An event's details as words: the revoke reason, the cascade it came from (a link), and the rest as key and value. */
function detailsOf(event: AuditEvent): ReactNode {
  const entries = Object.entries(event.details ?? {});
  if (entries.length === 0) return '—';
  return (
    <ul className="details">
      {entries.map(([key, value]) => (
        <li key={key}>
          <span className="hint-inline">{key.replaceAll('_', ' ')}:</span>{' '}
          {key === 'cascade_from' && typeof value === 'string'
            ? <Link to={`/tokens/${value}`}><code>{value}</code></Link>
            : <bdi>{typeof value === 'string' ? value : JSON.stringify(value)}</bdi>}
        </li>
      ))}
    </ul>
  );
}

/** A page of a log, by cursor; the log's JSON answer (its CSV is a download link instead). */
type Listing<T> = (cursor: string | undefined) => Promise<Page<T> | string>;

function usePaged<T>(list: Listing<T>, params: Record<string, string>) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<T> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(params);
  useEffect(() => setCursors([null]), [key]);
  const cursor = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    setError(null);
    list(cursor ?? undefined).then(
      (answer) => (typeof answer === 'string' ? setError('Could not load.') : setPage(answer)),
      (e) => setError(e instanceof ApiError ? e.message : 'Could not load.'),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, cursor]);
  const pager = (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button type="button" disabled={!page?.next_cursor} onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}>Next page</button>
    </nav>
  );
  return { page, error, pager };
}

const isoOrEmpty = (local: string) => (local ? new Date(local).toISOString() : '');

export function AuditLog() {
  const [action, setAction] = useState('');
  const [since, setSince] = useState('');
  const [verdict, setVerdict] = useState<string | null>(null);
  const params = { action, since: isoOrEmpty(since) };
  const { page, error, pager } = usePaged((cursor) => api(() => http.GET('/v1/audit-log', { params: { query: { ...filters({ ...params, cursor }), limit: 50 } } })), params);
  const verify = async () => {
    const result = await api(() => http.GET('/v1/audit-log/verify'));
    setVerdict(result.valid ? `Chain intact: ${result.checked} events checked.` : `Chain broken at event ${result.first_broken?.seq}.`);
  };
  return (
    <main>
      <div className="heading"><h1>Audit log</h1><button type="button" onClick={() => void verify()}>Verify chain</button></div>
      {verdict && <p role="status">{verdict}</p>}
      <div className="filters" role="search">
        <label>Action
          <input value={action} onChange={(e) => setAction(e.target.value)} placeholder="token.revoked" list="audit-actions" />
          <datalist id="audit-actions">{COMMON_ACTIONS.map((each) => <option key={each} value={each} />)}</datalist>
        </label>
        <label>Since<input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} /></label>
        <a className="button" href={`/v1/audit-log${query({ action, since: isoOrEmpty(since), format: 'csv', limit: 10000 })}`} download>Download CSV</a>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {page && (
        <ScrollTable label="Audit log">
          <table className="log">
            <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Target</th><th scope="col">Details</th><th scope="col">IP</th></tr></thead>
            <tbody>
              {page.data.map((e) => (
                <tr key={e.id}>
                  <td data-label="Time"><span className="date">{dateTime(e.at)}</span></td>
                  <td data-label="Action"><code>{e.action}</code></td>
                  <td data-label="Actor"><bdi>{e.actor.name}</bdi></td>
                  <td data-label="Target">{targetOf(e)}</td>
                  <td data-label="Details">{detailsOf(e)}</td>
                  <td data-label="IP">{e.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {pager}
    </main>
  );
}

const STATUS_CLASSES = [['2xx', 'Succeeded (2xx)'], ['4xx', 'Refused (4xx)'], ['5xx', 'Failed (5xx)'], ['3xx', 'Redirected (3xx)']] as const;

export function AccessLogs() {
  const [tokenId, setTokenId] = useState('');
  const [statusClass, setStatusClass] = useState('');
  const [method, setMethod] = useState('');
  const [since, setSince] = useState('');
  const [tokens, setTokens] = useState<Token[]>([]);
  useEffect(() => {
    void api(() => http.GET('/v1/tokens', { params: { query: { limit: 100 } } })).then((answer) => setTokens(answer.data), () => undefined);
  }, []);
  const params = { token_id: tokenId, status_class: statusClass, method, since: isoOrEmpty(since) };
  const { page, error, pager } = usePaged((cursor) => api(() => http.GET('/v1/access-logs', {
    params: { query: { ...filters({ token_id: tokenId, status_class: statusClass as '2xx', method: method as 'GET', since: params.since, cursor }), limit: 50 } },
  })), params);
  return (
    <main>
      <h1>Access logs</h1>
      <div className="filters" role="search">
        <div className="field">
          <label htmlFor="log-token">Token</label>
          <select id="log-token" value={tokenId} onChange={(e) => setTokenId(e.target.value)}>
            <option value="">All tokens</option>
            {tokens.map((token) => <option key={token.id} value={token.id}>{token.name} ({token.visible_prefix}…{token.last4})</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-outcome">Outcome</label>
          <select id="log-outcome" value={statusClass} onChange={(e) => setStatusClass(e.target.value)}>
            <option value="">All</option>
            {STATUS_CLASSES.map(([value, words]) => <option key={value} value={value}>{words}</option>)}
          </select>
        </div>
        <label>Method
          <select value={method} onChange={(e) => setMethod(e.target.value)}>
            <option value="">All</option>{['GET', 'POST', 'PATCH', 'DELETE'].map((m) => <option key={m}>{m}</option>)}
          </select>
        </label>
        <label>Since<input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} /></label>
        <a className="button" href={`/v1/access-logs${query({ ...params, format: 'csv', limit: 10000 })}`} download>Download CSV</a>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {page && page.data.length === 0 && <p>No requests match.</p>}
      {page && page.data.length > 0 && (
        <ScrollTable label="Access logs">
          <table className="log">
            <thead>
              <tr>
                <th scope="col">Time</th><th scope="col">Token</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">From</th><th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((e) => (
                <tr key={e.id}>
                  <td data-label="Time"><span className="date">{dateTimeSeconds(e.at)}</span></td>
                  <td data-label="Token">{e.token_id ? <Link to={`/tokens/${e.token_id}`}><bdi>{e.token_name}</bdi></Link> : <bdi>{e.token_name}</bdi>}</td>
                  <td data-label="Request"><code>{e.method} <bdi>{e.path}</bdi></code></td>
                  <td data-label="Status">{e.status}{e.error_code ? ` ${e.error_code}` : ''}</td>
                  <td data-label="From">{e.ip}<span className="hint"><bdi>{e.user_agent || 'no user agent'}</bdi></span></td>
                  <td data-label="Duration">{e.duration_ms} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {pager}
    </main>
  );
}
