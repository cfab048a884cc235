import { useEffect, useState } from 'react';
import { api, http, onSessionEnded, setCsrf, type Session } from './api';
import { ReauthProvider } from './components/Reauth';
import { ConnectedAgents } from './pages/ConnectedAgents';
import { Consent } from './pages/Consent';
import { CreateToken } from './pages/CreateToken';
import { Domains } from './pages/Domains';
import { Login } from './pages/Login';
import { AccessLogs, AuditLog } from './pages/Logs';
import { TokenDetail } from './pages/TokenDetail';
import { TokensList } from './pages/TokensList';
import { Link, navigate, usePath } from './router';


const NAV = [
  { to: '/tokens', label: 'Tokens' },
  { to: '/connected-agents', label: 'Connected agents' },
  { to: '/domains', label: 'Domains' },
  { to: '/audit-log', label: 'Audit log' },
  { to: '/access-logs', label: 'Access logs' },
];

function Page({ path }: { path: string }) {
  if (path === '/tokens/new') return <CreateToken />;
  const detail = /^\/tokens\/([\w-]+)$/.exec(path);
  if (detail) return <TokenDetail id={detail[1]!} />;
  if (path === '/connected-agents') return <ConnectedAgents />;
  if (path === '/domains') return <Domains />;
  if (path === '/audit-log') return <AuditLog />;
  if (path === '/access-logs') return <AccessLogs />;
  return <TokensList />;
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
  // The consent screen stands alone: an agent's request, not a place to wander off from.
  if (path === '/consent') return <><Consent session={session} /><ReauthProvider /></>;
  const signOut = async () => {
    await api(() => http.POST('/v1/auth/logout')).catch(() => undefined);
    setCsrf(null);
    setSession(null);
  };
  return (
    <>
      <a href="#content" className="skip">Skip to content</a>
      <header className="top">
        <strong className="brand">Latchkey</strong>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} aria-current={path.startsWith(item.to) ? 'page' : undefined}>{item.label}</Link>
          ))}
        </nav>
        <span className="who"><bdi>{session.account.name}</bdi> · {session.account.plan} · <bdi>{session.user.email}</bdi></span>
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <div id="content"><Page path={path} /></div>
      <ReauthProvider />
    </>
  );
}
