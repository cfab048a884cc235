import { useEffect, useState } from 'react';
import { api, ApiError, filters, http, query, type Page } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { dateTime } from '../format';

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
        <label>Action<input value={action} onChange={(e) => setAction(e.target.value)} placeholder="token.revoked" /></label>
        <label>Since<input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} /></label>
        <a className="button" href={`/v1/audit-log${query({ action, since: isoOrEmpty(since), format: 'csv', limit: 10000 })}`} download>Download CSV</a>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {page && (
        <ScrollTable label="Audit log">
          <table>
            <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Target</th><th scope="col">IP</th></tr></thead>
            <tbody>
              {page.data.map((e) => (
                <tr key={e.id}><td>{dateTime(e.at)}</td><td><code>{e.action}</code></td><td><bdi>{e.actor.name}</bdi></td><td>{e.target ? <bdi>{e.target.name}</bdi> : '—'}</td><td>{e.ip ?? '—'}</td></tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {pager}
    </main>
  );
}

export function AccessLogs() {
  const [status, setStatus] = useState('');
  const [method, setMethod] = useState('');
  const [since, setSince] = useState('');
  const params = { status, method, since: isoOrEmpty(since) };
  const { page, error, pager } = usePaged((cursor) => api(() => http.GET('/v1/access-logs', {
    params: { query: { ...filters({ status: status ? Number(status) : undefined, method: method as 'GET', since: params.since, cursor }), limit: 50 } },
  })), params);
  return (
    <main>
      <h1>Access logs</h1>
      <div className="filters" role="search">
        <label>Status<input inputMode="numeric" value={status} onChange={(e) => setStatus(e.target.value.replace(/\D/g, '').slice(0, 3))} placeholder="403" /></label>
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
          <table>
            <thead><tr><th scope="col">Time</th><th scope="col">Token</th><th scope="col">Method</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col">IP</th><th scope="col">Duration</th></tr></thead>
            <tbody>
              {page.data.map((e) => (
                <tr key={e.id}><td>{dateTime(e.at)}</td><td><bdi>{e.token_name}</bdi></td><td>{e.method}</td><td><code><bdi>{e.path}</bdi></code></td><td>{e.status}{e.error_code ? ` ${e.error_code}` : ''}</td><td>{e.ip}</td><td>{e.duration_ms} ms</td></tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {pager}
    </main>
  );
}
