import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, http, type Domain, type ScopeInfo, type Token } from '../api';
import { GrantSummary } from '../components/GrantSummary';
import { ScopeMatrix } from '../components/ScopeMatrix';
import { SecretReveal } from '../components/SecretReveal';
import { ErrorText } from '../components/StatusBadge';
import { Link } from '../router';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(\/(3[0-2]|[12]?\d))?$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(\/(12[0-8]|1[01]\d|[1-9]?\d))?$/i;

/** Inline check as the user types; the server has the last word (and names the field when it disagrees). */
export const invalidAddresses = (text: string) =>
  text.split(/[\s,]+/).filter(Boolean).filter((entry) => !IPV4.test(entry) && !IPV6.test(entry));

export function CreateToken() {
  const [catalog, setCatalog] = useState<ScopeInfo[]>([]);
  const [domains, setDomains] = useState<Domain[]>([]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [type, setType] = useState<'api' | 'mcp'>('api');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [constrained, setConstrained] = useState(false);
  const [chosenDomains, setChosenDomains] = useState<Set<string>>(new Set());
  const [expiryChoice, setExpiryChoice] = useState('90d');
  const [customDate, setCustomDate] = useState('');
  const [ips, setIps] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<{ token: Token; secret: string } | null>(null);

  useEffect(() => {
    void api(() => http.GET('/v1/scopes')).then((c) => setCatalog(c.data));
    void api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data));
  }, []);

  // Nothing is granted until chosen; an AI agent starts at reading, the least it can do.
  const switchType = (next: 'api' | 'mcp') => {
    setType(next);
    setSelected(new Set(next === 'mcp' && catalog.some((s) => s.scope === 'mcp:read' && s.available) ? ['mcp:read'] : []));
  };
  const badIps = invalidAddresses(ips);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const expiry =
      expiryChoice === 'never' ? { expires_at: null } : expiryChoice === 'custom' ? { expires_at: customDate ? new Date(`${customDate}T23:59:59`).toISOString() : 'missing' } : { expires_in: expiryChoice };
    const ipList = ips.split(/[\s,]+/).filter(Boolean);
    try {
      const result = await api(() => http.POST('/v1/tokens', {
        body: {
          name, description, type, scopes: [...selected],
          domains: constrained ? [...chosenDomains] : null,
          ip_allowlist: ipList.length ? ipList : null,
          ...expiry,
        },
      }));
      setCreated(result);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'internal_error', 'Could not create the token.'));
    }
  };

  if (created) {
    return (
      <main>
        <h1>Token “<bdi>{created.token.name}</bdi>” created</h1>
        <SecretReveal secret={created.secret} name={created.token.name} />
        <p><Link to={`/tokens/${created.token.id}`} className="button">Done</Link></p>
      </main>
    );
  }

  return (
    <main>
      <h1>Create token</h1>
      <form onSubmit={submit} className="form" noValidate>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required aria-describedby="name-hint" />
          <span id="name-hint" className="hint">Something you will recognise later, like “GitHub Actions – deploy”.</span>
        </label>
        <ErrorText error={error} field="name" />
        <label>
          Description (optional)
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} rows={2} />
        </label>
        <fieldset>
          <legend>Type</legend>
          <label className="check"><input type="radio" name="type" checked={type === 'api'} onChange={() => switchType('api')} /> API (scripts, CI, integrations)</label>
          <label className="check"><input type="radio" name="type" checked={type === 'mcp'} onChange={() => switchType('mcp')} /> AI agent (MCP)</label>
        </fieldset>
        <ScopeMatrix catalog={catalog} type={type} selected={selected} onChange={setSelected} />
        <ErrorText error={error} field="scopes" />
        <fieldset>
          <legend>Domains</legend>
          <label className="check"><input type="radio" name="domains" checked={!constrained} onChange={() => setConstrained(false)} /> All domains</label>
          <label className="check"><input type="radio" name="domains" checked={constrained} onChange={() => setConstrained(true)} /> Only these domains</label>
          {constrained && (domains.length === 0 ? <p className="hint">This account has no domains yet.</p> : domains.map((d) => (
            <label key={d.id} className="check indent">
              <input
                type="checkbox" checked={chosenDomains.has(d.id)}
                onChange={(e) => {
                  const next = new Set(chosenDomains);
                  if (e.target.checked) next.add(d.id);
                  else next.delete(d.id);
                  setChosenDomains(next);
                }}
              /> <bdi>{d.name}</bdi>
            </label>
          )))}
        </fieldset>
        <ErrorText error={error} field="domains" />
        <label>
          Expiration
          <select value={expiryChoice} onChange={(e) => setExpiryChoice(e.target.value)}>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
            <option value="90d">90 days</option>
            <option value="custom">Custom date</option>
            <option value="never">Never</option>
          </select>
        </label>
        {expiryChoice === 'custom' && (
          <label>
            Expires on
            <input type="date" value={customDate} onChange={(e) => setCustomDate(e.target.value)} required />
          </label>
        )}
        <ErrorText error={error} field="expires_at" />
        <label>
          IP allowlist (optional)
          <textarea value={ips} onChange={(e) => setIps(e.target.value)} rows={2} placeholder="203.0.113.50, 10.0.0.0/8, 2001:db8::/32" aria-invalid={badIps.length > 0} aria-describedby="ip-hint" />
          <span id="ip-hint" className="hint">Leave empty to allow any address.</span>
        </label>
        {badIps.length > 0 && <p className="error" role="alert">Not an IP address or CIDR range: {badIps.join(', ')}</p>}
        <ErrorText error={error} field="ip_allowlist" />
        {error && !['name', 'scopes', 'domains', 'expires_at', 'ip_allowlist'].some((f) => error.field?.startsWith(f)) && (
          <p className="error" role="alert">{error.message}</p>
        )}
        <GrantSummary
          catalog={catalog}
          choice={{
            type, selected, ips: ips.split(/[\s,]+/).filter(Boolean),
            domains: constrained ? domains.filter((d) => chosenDomains.has(d.id)).map((d) => d.name) : null,
            expiry: expiryChoice === 'never' ? 'never expires' : expiryChoice === 'custom' ? (customDate ? `until the end of ${customDate}` : 'until a date you choose') : `for ${expiryChoice.replace('d', ' days')}`,
          }}
        />
        <div className="actions">
          <Link to="/tokens" className="button">Cancel</Link>
          <button type="submit" className="primary" disabled={badIps.length > 0 || selected.size === 0 || !name.trim()}>Create token</button>
        </div>
      </form>
    </main>
  );
}
