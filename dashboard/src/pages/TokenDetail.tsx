import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, http, type AccessLogEntry, type Domain, type ScopeInfo, type Token, type TokenChanges } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { ActivityChart } from '../components/ActivityChart';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { ScopeMatrix } from '../components/ScopeMatrix';
import { SecretReveal } from '../components/SecretReveal';
import { ErrorText, StatusBadge } from '../components/StatusBadge';
import { dateTime, dateTimeSeconds, expiry, levelWord } from '../format';
import { Link, navigate } from '../router';
import { domainSummary } from './TokensList';

type Modal = 'revoke' | 'delete' | 'rotate' | 'edit' | null;

/** "What it can access", in words: one line per resource. */
function accessInWords(token: Token, catalog: ScopeInfo[]): string[] {
  return token.scopes.map((scope) => {
    const info = catalog.find((s) => s.scope === scope && s.type === token.type);
    const [resource, level] = scope.split(':') as [string, string];
    const lost = !token.effective_scopes.includes(scope) ? ' (not on the current plan)' : '';
    return `${info?.label ?? resource}: ${levelWord(level)}${lost}`;
  });
}

export function TokenDetail({ id }: { id: string }) {
  const [token, setToken] = useState<Token | null>(null);
  const [catalog, setCatalog] = useState<ScopeInfo[]>([]);
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [activity, setActivity] = useState<AccessLogEntry[]>([]);
  const [modal, setModal] = useState<Modal>(null);
  const [revokeReason, setRevokeReason] = useState('');
  const [rotated, setRotated] = useState<{ token: Token; secret: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      const path = { params: { path: { id } } };
      setToken((await api(() => http.GET('/v1/tokens/{id}', path))).token);
      setActivity((await api(() => http.GET('/v1/tokens/{id}/activity', { params: { path: { id }, query: { limit: 100 } } }))).data);
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  }, [id]);
  useEffect(() => {
    setRotated(null);
    void load();
    void api(() => http.GET('/v1/scopes')).then((c) => setCatalog(c.data));
    void api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data), () => setDomains([]));
  }, [id, load]);

  const act = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      setModal(null);
      await load();
    } catch (e) {
      setModal(null);
      setError(e instanceof ApiError ? e : new ApiError(0, 'internal_error', 'Something went wrong.'));
    }
  };

  if (!token) return <main>{error ? <p className="error" role="alert">{error.message}</p> : <p aria-live="polite">Loading…</p>}</main>;
  const live = token.status === 'active' || token.status === 'paused';
  return (
    <main>
      <p><Link to="/tokens">← All tokens</Link></p>
      <div className="heading">
        <h1><bdi>{token.name}</bdi></h1>
        <StatusBadge status={token.status} />
      </div>
      {token.description && <p><bdi>{token.description}</bdi></p>}
      {error && <p className="error" role="alert">{error.message}</p>}
      {rotated && (
        <>
          <SecretReveal secret={rotated.secret} name={rotated.token.name} />
          <p><Link to={`/tokens/${rotated.token.id}`}>Open the new token</Link></p>
        </>
      )}
      <div className="actions">
        {live && <button type="button" onClick={() => setModal('edit')}>Edit</button>}
        {token.status === 'active' && <button type="button" onClick={() => void act(() => api(() => http.POST('/v1/tokens/{id}/pause', { params: { path: { id } } })))}>Pause</button>}
        {token.status === 'paused' && <button type="button" onClick={() => void act(() => api(() => http.POST('/v1/tokens/{id}/resume', { params: { path: { id } } })))}>Resume</button>}
        {live && !token.rotated_to && <button type="button" onClick={() => setModal('rotate')}>Rotate</button>}
        {token.status !== 'revoked' && <button type="button" className="danger" onClick={() => setModal('revoke')}>Revoke</button>}
        <button type="button" className="danger" onClick={() => setModal('delete')}>Delete</button>
      </div>

      <section aria-labelledby="access-title">
        <h2 id="access-title">What it can access</h2>
        <ul>{accessInWords(token, catalog).map((line) => <li key={line}>{line}</li>)}</ul>
        <dl className="facts">
          <dt>Domains</dt><dd>{token.type === 'message' ? 'One mailbox' : domainSummary(token.domains, domains)}</dd>
          <dt>IP allowlist</dt><dd>{token.ip_allowlist?.join(', ') ?? 'Any address'}</dd>
          <dt>Token</dt><dd><code>{token.visible_prefix}…{token.last4}</code></dd>
          <dt>Created</dt><dd>{dateTime(token.created_at)} by <bdi>{token.created_by.name}</bdi>{token.created_by_removed && ' (a removed user: the token stays with the account)'}</dd>
          {token.connected_agent && <><dt>Issued to</dt><dd><bdi>{token.connected_agent.client_name}</bdi>, a connected agent (<Link to="/connected-agents">manage</Link>)</dd></>}
          <dt>First used</dt><dd>{token.first_used_at ? dateTime(token.first_used_at) : 'Never'}</dd>
          <dt>Last used</dt><dd data-testid="last-used">{token.last_used_at ? `${dateTime(token.last_used_at)} from ${token.last_used_ip}` : 'Never'}</dd>
          {token.type !== 'api' && <><dt>Last tool called</dt><dd data-testid="last-tool">{lastToolCall(activity)}</dd></>}
          {token.paused_at && token.status === 'paused' && <><dt>Paused</dt><dd>{dateTime(token.paused_at)}</dd></>}
          <dt>Rate limit</dt><dd>{token.rate_limit ? `${token.rate_limit.requests} requests per ${token.rate_limit.per}` : 'None'}</dd>
          {token.revoked_at
            ? <><dt>Revoked</dt><dd>{dateTime(token.revoked_at)}{token.revoke_reason && <>: <bdi>{token.revoke_reason}</bdi></>}</dd></>
            : <><dt>Expires</dt><dd>{expiry(token.expires_at)}</dd></>}
          {token.rotated_from && <><dt>Replaces</dt><dd><Link to={`/tokens/${token.rotated_from}`}>previous token</Link></dd></>}
          {token.rotated_to && <><dt>Replaced by</dt><dd><Link to={`/tokens/${token.rotated_to}`}>newer token</Link></dd></>}
        </dl>
      </section>

      <section aria-labelledby="activity-title">
        <h2 id="activity-title">Recent activity</h2>
        <ActivityChart entries={activity} />
        {activity.length === 0 ? <p>No requests yet.</p> : (
          <ScrollTable label="Activity">
            <table className="log">
              <thead><tr><th scope="col">Time</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">From</th></tr></thead>
              <tbody>
                {activity.slice(0, 25).map((e) => (
                  <tr key={e.id}>
                    <td data-label="Time"><span className="date">{dateTimeSeconds(e.at)}</span></td>
                    <td data-label="Request"><code>{e.method} <bdi>{e.path}</bdi></code></td>
                    <td data-label="Status">{e.status}{e.error_code ? ` ${e.error_code}` : ''}</td>
                    <td data-label="From">{e.ip}<span className="hint"><bdi>{e.user_agent || 'no user agent'}</bdi></span></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
        )}
      </section>

      {modal === 'revoke' && (
        <ConfirmDialog title={<>Revoke “<bdi>{token.name}</bdi>”?</>} confirm="Revoke token" danger onClose={() => setModal(null)}
          body={<>
            {token.connected_agent
              ? <p>“<bdi>{token.connected_agent.client_name}</bdi>” is disconnected: this token and every other it holds stop working at once, and it must ask again to reconnect.</p>
              : <p>Anything using “<bdi>{token.name}</bdi>” stops working at once, and so does every token it created. This cannot be undone.</p>}
            <div className="field">
              <label htmlFor="revoke-reason">Reason (optional)</label>
              <input id="revoke-reason" maxLength={500} value={revokeReason} onChange={(e) => setRevokeReason(e.target.value)} placeholder="Leaked in a build log" />
              <span className="hint">Kept with the token and in the audit log.</span>
            </div>
          </>}
          onConfirm={() => act(() => api(() => http.POST('/v1/tokens/{id}/revoke', { params: { path: { id } }, body: revokeReason.trim() ? { reason: revokeReason.trim() } : {} })))} />
      )}
      {modal === 'delete' && (
        <ConfirmDialog title={<>Delete “<bdi>{token.name}</bdi>”?</>} confirm="Delete token" danger onClose={() => setModal(null)}
          body={<p>“<bdi>{token.name}</bdi>” is revoked and removed from the list. The audit log keeps its history.</p>}
          onConfirm={() => act(async () => {
            await api(() => http.DELETE('/v1/tokens/{id}', { params: { path: { id } } }));
            navigate('/tokens');
          })} />
      )}
      {modal === 'rotate' && <RotateDialog token={token} onClose={() => setModal(null)} onRotated={(r) => void act(async () => setRotated(r))} />}
      {modal === 'edit' && <EditDialog token={token} catalog={catalog} onClose={() => setModal(null)} onSaved={() => void act(async () => undefined)} />}
    </main>
  );
}

function RotateDialog({ token, onClose, onRotated }: { token: Token; onClose: () => void; onRotated: (r: { token: Token; secret: string }) => void }) {
  const [grace, setGrace] = useState('12h');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      onRotated(await api(() => http.POST('/v1/tokens/{id}/rotate', { params: { path: { id: token.id } }, body: { grace_period: grace } })));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not rotate.');
    }
  };
  return (
    <Dialog title={<>Rotate “<bdi>{token.name}</bdi>”</>} onClose={onClose}>
      <form onSubmit={submit}>
        <p>A new secret with the same settings is created. The current one keeps working for the grace period, then expires.</p>
        <label>
          Grace period
          <select value={grace} onChange={(e) => setGrace(e.target.value)}>
            <option value="0s">None: stop the old secret now</option>
            <option value="1h">1 hour</option>
            <option value="12h">12 hours</option>
            <option value="24h">24 hours</option>
            <option value="7d">7 days</option>
          </select>
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="actions"><button type="button" onClick={onClose}>Cancel</button><button type="submit" className="primary">Rotate</button></div>
      </form>
    </Dialog>
  );
}

function EditDialog({ token, catalog, onClose, onSaved }: { token: Token; catalog: ScopeInfo[]; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(token.name);
  const [description, setDescription] = useState(token.description);
  const [ips, setIps] = useState((token.ip_allowlist ?? []).join(', '));
  const [expiresOn, setExpiresOn] = useState(token.expires_at ? token.expires_at.slice(0, 10) : '');
  const [scopes, setScopes] = useState(new Set(token.scopes));
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ipList = ips.split(/[\s,]+/).filter(Boolean);
    const body: TokenChanges = { name, description, ip_allowlist: ipList.length ? ipList : null };
    const newExpiry = expiresOn ? new Date(`${expiresOn}T23:59:59`).toISOString() : null;
    if ((token.expires_at?.slice(0, 10) ?? '') !== expiresOn) body.expires_at = newExpiry;
    if (token.type !== 'message') body.scopes = [...scopes];
    try {
      await api(() => http.PATCH('/v1/tokens/{id}', { params: { path: { id: token.id } }, body }));
      onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  return (
    <Dialog title={<>Edit “<bdi>{token.name}</bdi>”</>} onClose={onClose}>
      <form onSubmit={submit} className="form">
        <label>Name<input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required /></label>
        <ErrorText error={error} field="name" />
        <label>Description<textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} rows={2} /></label>
        <label>IP allowlist<textarea value={ips} onChange={(e) => setIps(e.target.value)} rows={2} /></label>
        <ErrorText error={error} field="ip_allowlist" />
        <label>Expires on (empty: never)<input type="date" value={expiresOn} onChange={(e) => setExpiresOn(e.target.value)} /></label>
        <ErrorText error={error} field="expires_at" />
        {token.type !== 'message' && <ScopeMatrix catalog={catalog} type={token.type} selected={scopes} onChange={setScopes} />}
        {error && !error.field && <p className="error" role="alert">{error.message}</p>}
        {error?.field === 'scopes' && <p className="error" role="alert">{error.message}</p>}
        <div className="actions"><button type="button" onClick={onClose}>Cancel</button><button type="submit" className="primary">Save</button></div>
      </form>
    </Dialog>
  );
}

/** An agent's latest tool call, from its activity (newest first): each call is an entry whose route is `mcp:<tool>`. */
function lastToolCall(activity: readonly AccessLogEntry[]): string {
  const call = activity.find((entry) => entry.route.startsWith('mcp:'));
  if (!call) return 'None yet';
  return `${call.route.slice('mcp:'.length)}, ${dateTime(call.at)}${call.status >= 400 ? ` (refused: ${call.error_code ?? call.status})` : ''}`;
}
