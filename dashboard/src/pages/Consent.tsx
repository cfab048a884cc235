import { useEffect, useState } from 'react';
import { api, ApiError, http, type ConsentAnswer, type ConsentRequest, type Domain, type Session } from '../api';
import { sentence } from '../format';
import { PasswordCheck } from '../components/PasswordCheck';

/** What each AI-agent scope lets the agent do, in the words the person decides on. */
export const AGENT_SCOPE_WORDS: Record<string, string> = {
  'mcp:read': 'Read: find and read your domains, mailboxes, mail activity and messages',
  'mcp:write': 'Write: change your mail without sending any (new mailboxes, read marks, folders, drafts)',
  'mcp:send': 'Send: send email from your mailboxes, to anyone',
};

const LIFETIME_WORDS: Record<string, string> = { '1d': '1 day', '7d': '7 days', '30d': '30 days', '90d': '90 days' };
export const lifetimeWord = (lifetime: string) => LIFETIME_WORDS[lifetime] ?? lifetime;

const errorText = (error: unknown, fallback: string) => (error instanceof ApiError ? sentence(error.message) : fallback);

/** The authorization request as the browser was sent here with it: the page's own query, unchanged. */
const requestQuery = () => window.location.search.replace(/^\?/, '');

/** "Verify it's you" before the decision, when the session's last password check is too old to connect an agent. */
const VerifyFirst = ({ onVerified, onDeny }: { onVerified: () => void; onDeny: () => void }) => (
  <PasswordCheck heading={<h2>Verify it’s you</h2>} label="Verify it’s you" className="form" explanation="Connecting an agent needs your password again."
    cancel="Deny" onVerified={onVerified} onCancel={onDeny} />
);

/**
 * The OAuth consent screen: who asks, where the answer goes, what it asks for, and what this
 * person lets it have — never more than asked, possibly less.
 */
export function Consent({ session }: { session: Session }) {
  const [query] = useState(requestQuery);
  const [consent, setConsent] = useState<ConsentRequest | null>(null);
  const [domains, setDomains] = useState<Domain[]>([]);
  const [loadError, setLoadError] = useState<{ message: string; redirectTo: string | null } | null>(null);
  const [verified, setVerified] = useState(false);
  const [scopes, setScopes] = useState<string[]>([]);
  const [allDomains, setAllDomains] = useState(true);
  const [chosenDomains, setChosenDomains] = useState<string[]>([]);
  const [lifetime, setLifetime] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    api(() => http.GET('/v1/oauth/consent', { params: { query: { request: query } } })).then((described) => {
      setConsent(described);
      setScopes(described.offered_scopes);
      setLifetime(described.default_lifetime);
      setVerified(!described.reauth_required);
    }, (e) => {
      const redirectTo = e instanceof ApiError && typeof e.details.redirect_to === 'string' ? e.details.redirect_to : null;
      setLoadError({ message: errorText(e, 'Could not read this request.'), redirectTo });
    });
    void api(() => http.GET('/v1/domains', { params: { query: { limit: 100 } } })).then((d) => setDomains(d.data), () => undefined);
  }, [query]);

  const decide = async (allow: boolean) => {
    setError(null);
    setSending(true);
    try {
      // The lifetime is one the API offered; the generated type knows them only as the server's list.
      const body: ConsentAnswer = allow
        ? { request: query, allow, scopes, domains: allDomains ? null : chosenDomains, lifetime: lifetime as ConsentAnswer['lifetime'] }
        : { request: query, allow };
      const { redirect_to: redirectTo } = await api(() => http.POST('/v1/oauth/consent', { body }));
      window.location.assign(redirectTo);
    } catch (e) {
      setError(errorText(e, 'Could not send your answer.'));
      setSending(false);
    }
  };

  const toggle = (list: string[], item: string, on: boolean) => (on ? [...list, item] : list.filter((x) => x !== item));

  if (loadError) {
    return (
      <main className="consent">
        <h1>This connection request cannot be shown</h1>
        <p className="error" role="alert">{loadError.message}</p>
        {loadError.redirectTo && <p><a href={loadError.redirectTo}>Go back to the application</a></p>}
      </main>
    );
  }
  if (!consent) return <main className="consent"><p aria-live="polite">Loading…</p></main>;

  const { client, redirect, refusal } = consent;
  const canAllow = refusal === null && scopes.length > 0 && (allDomains || chosenDomains.length > 0) && !sending;
  return (
    <main className="consent">
      <h1><bdi>{client.name}</bdi> wants to connect to your account</h1>
      <dl className="facts" aria-label="Who is asking">
        <dt>Identity</dt>
        <dd>
          {client.verified
            ? <><span className="badge badge-active">verified</span> — published by <strong><bdi>{client.host}</bdi></strong></>
            : <><span className="badge badge-unverified">unverified</span> — the name was chosen by the application itself; nobody has checked it</>}
        </dd>
        <dt>Answer sent to</dt>
        <dd><strong><bdi>{redirect.host}</bdi></strong></dd>
        <dt>Your account</dt>
        <dd><bdi>{session.account.name}</bdi>, signed in as <bdi>{session.user.email}</bdi></dd>
      </dl>
      {redirect.loopback && (
        <p className="warning" role="note">
          The answer goes to <strong>{redirect.host}</strong>, a program on this computer. Allow only if you have just started this
          connection from an application on this computer yourself.
        </p>
      )}
      {refusal !== null ? (
        <>
          <p className="error" role="alert">You cannot connect this agent: {refusal.message}.</p>
          <div className="actions"><button type="button" onClick={() => void decide(false)} disabled={sending}>Deny</button></div>
        </>
      ) : !verified ? (
        <VerifyFirst onVerified={() => setVerified(true)} onDeny={() => void decide(false)} />
      ) : (
        <form className="form" aria-label="What the agent may do" onSubmit={(e) => { e.preventDefault(); void decide(true); }}>
          <fieldset>
            <legend>It asks to</legend>
            {consent.scopes.map((scope) => {
              const offered = consent.offered_scopes.includes(scope);
              return (
                <label key={scope} className="check">
                  <input type="checkbox" checked={scopes.includes(scope)} disabled={!offered} onChange={(e) => setScopes(toggle(scopes, scope, e.target.checked))} />
                  <span>{AGENT_SCOPE_WORDS[scope] ?? scope}{!offered && <span className="hint">Not on your plan</span>}</span>
                </label>
              );
            })}
            {scopes.length === 0 && <p className="error">Leave at least one kind of access ticked, or deny.</p>}
          </fieldset>
          <fieldset>
            <legend>On which domains</legend>
            <label className="check">
              <input type="radio" name="domains" checked={allDomains} onChange={() => setAllDomains(true)} />
              All domains, including ones added later
            </label>
            <label className="check">
              <input type="radio" name="domains" checked={!allDomains} onChange={() => setAllDomains(false)} disabled={domains.length === 0} />
              Only the domains chosen here
            </label>
            {!allDomains && domains.map((domain) => (
              <label key={domain.id} className="check indent">
                <input type="checkbox" checked={chosenDomains.includes(domain.id)} onChange={(e) => setChosenDomains(toggle(chosenDomains, domain.id, e.target.checked))} />
                <bdi>{domain.name}</bdi>
              </label>
            ))}
            {!allDomains && chosenDomains.length === 0 && <p className="error">Choose at least one domain.</p>}
          </fieldset>
          <label>
            Connection lasts
            <select value={lifetime} onChange={(e) => setLifetime(e.target.value)}>
              {consent.lifetimes.map((option) => <option key={option} value={option}>{lifetimeWord(option)}</option>)}
            </select>
            <span className="hint">After that the agent must ask again. You can disconnect it sooner under Connected agents.</span>
          </label>
          {error && <p className="error" role="alert">{error}</p>}
          <div className="actions">
            <button type="button" onClick={() => void decide(false)} disabled={sending}>Deny</button>
            <button type="submit" className="primary" disabled={!canAllow}>Allow</button>
          </div>
        </form>
      )}
      {error && refusal !== null && <p className="error" role="alert">{error}</p>}
    </main>
  );
}
