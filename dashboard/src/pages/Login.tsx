import { useState, type FormEvent } from 'react';
import { api, ApiError, http, setCsrf, type Session } from '../api';

export function Login({ onSignedIn, purpose }: { onSignedIn: (session: Session) => void; purpose?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const result = await api(() => http.POST('/v1/auth/login', { body: { email, password } }));
      setCsrf(result.csrf_token);
      onSignedIn({ user: result.user, account: result.account });
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not sign in.');
    }
  };
  return (
    <main className="login">
      <h1>Latchkey</h1>
      {purpose && <p>{purpose}</p>}
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Email
          <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary">Sign in</button>
      </form>
    </main>
  );
}
