import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, http, type Domain, type Mailbox, type Token } from '../api';
import { SecretReveal } from '../components/SecretReveal';
import { dateTime } from '../format';

export function Domains() {
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ domain: Domain; token: Token | null; secret: string | null } | null>(null);
  const load = useCallback(() => api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data)), []);
  useEffect(() => void load(), [load]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      setCreated(await api(() => http.POST('/v1/domains', { body: { name } })));
      setName('');
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not add the domain.');
    }
  };
  return (
    <main>
      <h1>Domains</h1>
      <form onSubmit={submit} className="inline-form" aria-label="Add a domain">
        <label>Domain name<input value={name} onChange={(e) => setName(e.target.value)} placeholder="example.com" required /></label>
        <button type="submit" className="primary">Add domain</button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      {created?.secret && created.token && (
        <>
          <p><bdi>{created.domain.name}</bdi> was added with its own token, “<bdi>{created.token.name}</bdi>”, limited to this domain.</p>
          <SecretReveal secret={created.secret} name={created.token.name} />
        </>
      )}
      {domains === null ? <p aria-live="polite">Loading…</p> : domains.length === 0 ? (
        <div className="empty"><h2>No domains yet</h2><p>Add the domains you send from. Each gets a token limited to it.</p></div>
      ) : (
        <ul className="cards">{domains.map((d) => <DomainCard key={d.id} domain={d} />)}</ul>
      )}
    </main>
  );
}

function DomainCard({ domain }: { domain: Domain }) {
  const [open, setOpen] = useState(false);
  const [mailboxes, setMailboxes] = useState<Mailbox[]>([]);
  const [local, setLocal] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => api(() => http.GET('/v1/domains/{id}/mailboxes', { params: { path: { id: domain.id }, query: { limit: 100 } } })).then((m) => setMailboxes(m.data)), [domain.id]);
  useEffect(() => {
    if (open) void load();
  }, [open, load]);
  const add = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(() => http.POST('/v1/domains/{id}/mailboxes', { params: { path: { id: domain.id } }, body: { local_part: local } }));
      setLocal('');
      setError(null);
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not add the mailbox.');
    }
  };
  return (
    <li className="card">
      <div className="heading">
        <h2><bdi>{domain.name}</bdi></h2>
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? 'Hide mailboxes' : 'Mailboxes'}</button>
      </div>
      <p className="hint">Added {dateTime(domain.created_at)}</p>
      {open && (
        <>
          <ul>{mailboxes.map((m) => <li key={m.id}><bdi>{m.address}</bdi></li>)}</ul>
          <form onSubmit={add} className="inline-form" aria-label={`Add a mailbox to ${domain.name}`}>
            <label>Mailbox<input value={local} onChange={(e) => setLocal(e.target.value)} placeholder="support" required /></label>
            <span>@{domain.name}</span>
            <button type="submit">Add mailbox</button>
          </form>
          {error && <p className="error" role="alert">{error}</p>}
        </>
      )}
    </li>
  );
}
