import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, http, type Domain, type Mailbox, type Token } from '../api';
import { ConfirmDialog } from '../components/Dialog';
import { SecretReveal } from '../components/SecretReveal';
import { StatusBadge } from '../components/StatusBadge';
import { dateTime, sentence } from '../format';
import { Link } from '../router';

const live = (token: Token) => token.status === 'active' || token.status === 'paused';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
        <ul className="cards">{domains.map((d) => <DomainCard key={d.id} domain={d} onDeleted={() => void load()} />)}</ul>
      )}
    </main>
  );
}

function DomainCard({ domain, onDeleted }: { domain: Domain; onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [deleting, setDeleting] = useState(false);
  // People who may not manage tokens see the domain without its tokens.
  useEffect(() => {
    api(() => http.GET('/v1/tokens', { params: { query: { domain_id: domain.id, status: undefined, limit: 100 } } })).then((page) => setTokens(page.data), () => setTokens(null));
  }, [domain.id]);
  const remove = async () => {
    try {
      await api(() => http.DELETE('/v1/domains/{id}', { params: { path: { id: domain.id } } }));
      setDeleting(false);
      onDeleted();
    } catch (e) {
      setDeleting(false);
      setError(e instanceof ApiError ? sentence(e.message) : 'Could not delete the domain.');
    }
  };
  const close = useCallback(() => setDeleting(false), []);
  // What a deletion revokes: the live tokens limited to this domain alone.
  const revoked = (tokens ?? []).filter((token) => live(token) && token.domains?.length === 1);
  const noWorkingToken = tokens !== null && tokens.length > 0 && !tokens.some(live);
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
        <div className="actions">
          <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? 'Hide mailboxes' : 'Mailboxes'}</button>
          <button type="button" className="danger" onClick={() => setDeleting(true)} aria-label={`Delete ${domain.name}`}>Delete</button>
        </div>
      </div>
      <p className="hint">Added {dateTime(domain.created_at)}</p>
      {noWorkingToken && <p className="warning" role="note">No working token: every token limited to this domain is revoked or expired.</p>}
      {tokens && tokens.length > 0 && (
        <ul aria-label={`Tokens of ${domain.name}`} className="domain-tokens">
          {tokens.map((token) => (
            <li key={token.id}><Link to={`/tokens/${token.id}`}><bdi>{token.name}</bdi></Link> <StatusBadge status={token.status} /></li>
          ))}
        </ul>
      )}
      {error && !open && <p className="error" role="alert">{error}</p>}
      {deleting && (
        <ConfirmDialog
          title={<>Delete <bdi>{domain.name}</bdi>?</>}
          body={revoked.length === 0
            ? <p>No token is limited to <bdi>{domain.name}</bdi> alone, so none is revoked. Tokens that reach it among other domains lose it.</p>
            : <>
              <p>This revokes {plural(revoked.length, 'token')} limited to <bdi>{domain.name}</bdi> alone, and what each created:</p>
              <ul>{revoked.map((token) => <li key={token.id}><bdi>{token.name}</bdi></li>)}</ul>
              <p>Tokens that reach other domains too lose this one. This cannot be undone.</p>
            </>}
          confirm="Delete domain"
          danger
          onConfirm={remove}
          onClose={close}
        />
      )}
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
