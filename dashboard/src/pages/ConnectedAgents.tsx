import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, http, type ConnectedAgent, type Domain } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { ConfirmDialog } from '../components/Dialog';
import { dateTime, expiry, sentence } from '../format';
import { AGENT_SCOPE_WORDS } from './Consent';
import { domainSummary } from './TokensList';

const scopeWord = (scope: string) => (AGENT_SCOPE_WORDS[scope] ?? scope).split(':')[0];

/** The AI agents people connected through OAuth, and Disconnect, which refuses every token they hold. */
export function ConnectedAgents() {
  const [agents, setAgents] = useState<ConnectedAgent[] | null>(null);
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [disconnecting, setDisconnecting] = useState<ConnectedAgent | null>(null);

  const load = useCallback(() => {
    api(() => http.GET('/v1/connected-agents')).then((answer) => setAgents(answer.data), (e) =>
      setError(e instanceof ApiError ? sentence(e.message) : 'Could not load the connected agents.'),
    );
  }, []);
  useEffect(() => {
    load();
    void api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data), () => setDomains([]));
  }, [load]);

  const disconnect = async (agent: ConnectedAgent) => {
    try {
      await api(() => http.DELETE('/v1/connected-agents/{id}', { params: { path: { id: agent.id } } }));
      setDisconnecting(null);
      load();
    } catch (e) {
      setDisconnecting(null);
      setError(e instanceof ApiError ? sentence(e.message) : 'Could not disconnect the agent.');
    }
  };
  const close = useCallback(() => setDisconnecting(null), []);

  return (
    <main>
      <h1>Connected agents</h1>
      <p className="hint">AI agents that someone on this account allowed through the consent screen. Disconnect one and every token it holds stops working at once.</p>
      {error && <p className="error" role="alert">{error}</p>}
      {!agents && !error && <p aria-live="polite">Loading…</p>}
      {agents && agents.length === 0 && <div className="empty"><h2>No agents connected</h2><p>When an AI agent asks to connect and someone allows it, it is listed here.</p></div>}
      {agents && agents.length > 0 && (
        <ScrollTable label="Connected agents">
          <table>
            <thead>
              <tr>
                <th scope="col">Agent</th><th scope="col">Access</th><th scope="col">Domains</th><th scope="col">Connected</th>
                <th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {agents.map((agent) => (
                <tr key={agent.id}>
                  <td>
                    <bdi>{agent.client.name}</bdi>
                    <span className="hint">{agent.client.verified ? <>verified · <bdi>{agent.client.host}</bdi></> : 'unverified'}</span>
                  </td>
                  <td>{agent.scopes.map(scopeWord).join(', ')}</td>
                  <td>{domainSummary(agent.domains, domains)}</td>
                  <td>{dateTime(agent.connected_at)}<span className="hint">by <bdi>{agent.connected_by}</bdi></span></td>
                  <td>
                    {agent.last_used_at ? <>{dateTime(agent.last_used_at)}<span className="hint">from {agent.last_used_ip}{agent.last_tool && <> · <code>{agent.last_tool}</code></>}</span></> : 'Never'}
                  </td>
                  <td>{expiry(agent.expires_at)}</td>
                  <td><button type="button" className="danger" onClick={() => setDisconnecting(agent)} aria-label={`Disconnect ${agent.client.name}`}>Disconnect</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {disconnecting && (
        <ConfirmDialog
          title={<>Disconnect <bdi>{disconnecting.client.name}</bdi>?</>}
          body={<p>Its tokens are refused from now on, and it must ask again to reconnect.</p>}
          confirm="Disconnect"
          danger
          onConfirm={() => disconnect(disconnecting)}
          onClose={close}
        />
      )}
    </main>
  );
}
