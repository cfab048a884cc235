import { useEffect, useState } from 'react';
import { api, http, onSessionEnded, setCsrf, type Session } from './api';
import { ReauthProvider } from './components/Reauth';
import { Account, ChangePassword } from './pages/Account';
import { ConnectedAgents } from './pages/ConnectedAgents';
import { Consent } from './pages/Consent';
import { CreateToken } from './pages/CreateToken';
import { Domains } from './pages/Domains';
import { Login } from './pages/Login';
import { AccessLogs, AuditLog } from './pages/Logs';
import { People } from './pages/People';
import { TokenDetail } from './pages/TokenDetail';
import { TokensList } from './pages/TokensList';
import { Link, navigate, usePath } from './router';


const NAV = [
  { to: '/tokens', label: 'Tokens' },
  { to: '/connected-agents', label: 'Connected agents' },
  { to: '/domains', label: 'Domains' },
  { to: '/people', label: 'People', seenBy: ['owner', 'admin'] },
  { to: '/audit-log', label: 'Audit log' },
  { to: '/access-logs', label: 'Access logs' },
];

function Page({ path, session, onSignedOut }: { path: string; session: Session; onSignedOut: () => void }) {
  if (path === '/people') return <People session={session} />;
  if (path === '/account') return <Account onSignedOut={onSignedOut} />;
  if (path === '/tokens/new') return <CreateToken />;
  const detail = /^\/tokens\/([\w-]+)$/.exec(path);
  if (detail) return <TokenDetail id={detail[1]!} />;
  if (path === '/connected-agents') return <ConnectedAgents />;
  if (path === '/domains') return <Domains />;
  if (path === '/audit-log') return <AuditLog />;
  if (path === '/access-logs') return <AccessLogs />;
  if (path === '/' || path === '/tokens' || path === '/login') return <TokensList />;
  return (
    <main>
      <h1>Page not found</h1>
      <p>Nothing lives at <code>{path}</code>. <Link to="/tokens">Go to your tokens</Link>.</p>
    </main>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const path = usePath();
  useEffect(() => {
    onSessionEnded(() => setSession(null));
    // A new tab or a reload has the session cookie but not the CSRF token: the session gives it.
    api(() => http.GET('/v1/auth/session')).then(
      ({ csrf_token, user, account }) => {
        setCsrf(csrf_token);
        setSession({ user, account });
      },
      () => setSession(null),
    );
  }, []);

  if (session === undefined) return <p aria-live="polite">Loading…</p>;
  if (session === null) {
    const purpose = path === '/consent' ? 'Sign in to answer an AI agent’s request to connect to your account.' : undefined;
    return <Login purpose={purpose} onSignedIn={(s) => {
      setSession(s);
      if (path === '/' || path === '/login') navigate('/tokens');
    }} />;
  }
  const signOut = async () => {
    await api(() => http.POST('/v1/auth/logout')).catch(() => undefined);
    setCsrf(null);
    setSession(null);
  };
  // A one-time password is for choosing one's own, and nothing else.
  if (session.user.password_change_required) {
    return (
      <main className="login">
        <ChangePassword firstSignIn onChanged={() => setSession({ ...session, user: { ...session.user, password_change_required: false } })} />
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </main>
    );
  }
  // The consent screen stands alone: an agent's request, not a place to wander off from.
  if (path === '/consent') return <><Consent session={session} /><ReauthProvider /></>;
  return (
    <>
      <a href="#content" className="skip">Skip to content</a>
      <header className="top">
        <strong className="brand">Latchkey</strong>
        <nav aria-label="Main">
          {NAV.filter((item) => !item.seenBy || item.seenBy.includes(session.user.role)).map((item) => (
            <Link key={item.to} to={item.to} aria-current={path.startsWith(item.to) ? 'page' : undefined}>{item.label}</Link>
          ))}
        </nav>
        <span className="who"><bdi>{session.account.name}</bdi> · {session.account.plan} · <Link to="/account" aria-current={path === '/account' ? 'page' : undefined}><bdi>{session.user.email}</bdi></Link></span>
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <div id="content"><Page path={path} session={session} onSignedOut={() => setSession(null)} /></div>
      <ReauthProvider />
    </>
  );
}
