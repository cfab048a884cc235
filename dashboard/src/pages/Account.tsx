import { useState, type FormEvent } from 'react';
import { api, ApiError, http, setCsrf } from '../api';
import { sentence } from '../format';

const NEW_PASSWORD_MIN = 10;

/**
 * Choosing a new password, the current one given: at the first sign-in with a one-time password
 * (`firstSignIn`), or from the account page. Every other session of the person ends.
 */
export function ChangePassword({ firstSignIn = false, onChanged }: { firstSignIn?: boolean; onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [errors, setErrors] = useState<{ field: string | null; message: string } | null>(null);
  const [done, setDone] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors(null);
    if (next !== again) return setErrors({ field: 'again', message: 'The two new passwords differ.' });
    try {
      await api(() => http.POST('/v1/auth/password', { body: { current_password: current, new_password: next } }));
      setDone(true);
      setCurrent('');
      setNext('');
      setAgain('');
      onChanged();
    } catch (e) {
      setErrors(e instanceof ApiError
        ? { field: e.field ?? null, message: e.field === 'new_password' && e.code === 'invalid_request' && /at least|fewer/.test(e.message) ? `Use at least ${NEW_PASSWORD_MIN} characters.` : sentence(e.message) }
        : { field: null, message: 'Could not change the password.' });
    }
  };
  const problem = (field: string) => errors?.field === field ? <span className="error" role="alert" id={`${field}-error`}>{errors.message}</span> : null;
  return (
    <form onSubmit={submit} className="form" aria-label="Change your password">
      <h2>{firstSignIn ? 'Choose your own password' : 'Change your password'}</h2>
      {firstSignIn && <p>You signed in with a one-time password. Choose your own to go on; the one-time password stops working.</p>}
      <div className="field">
        <label htmlFor="current-password">{firstSignIn ? 'One-time password' : 'Current password'}</label>
        <input id="current-password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required
          aria-invalid={errors?.field === 'current_password'} aria-describedby={errors?.field === 'current_password' ? 'current_password-error' : undefined} />
        {problem('current_password')}
      </div>
      <div className="field">
        <label htmlFor="new-password">New password</label>
        <input id="new-password" type="password" autoComplete="new-password" minLength={NEW_PASSWORD_MIN} value={next} onChange={(e) => setNext(e.target.value)} required
          aria-invalid={errors?.field === 'new_password'} aria-describedby={errors?.field === 'new_password' ? 'new_password-error new-password-hint' : 'new-password-hint'} />
        <span className="hint" id="new-password-hint">At least {NEW_PASSWORD_MIN} characters. Your other sessions are signed out.</span>
        {problem('new_password')}
      </div>
      <div className="field">
        <label htmlFor="new-password-again">New password again</label>
        <input id="new-password-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required
          aria-invalid={errors?.field === 'again'} aria-describedby={errors?.field === 'again' ? 'again-error' : undefined} />
        {problem('again')}
      </div>
      {errors && errors.field === null && <p className="error" role="alert">{errors.message}</p>}
      {done && !firstSignIn && <p role="status">Your password is changed, and your other sessions are signed out.</p>}
      <div className="actions"><button type="submit" className="primary">Change password</button></div>
    </form>
  );
}

/** The signed-in person's own account: their password, and signing out everywhere. */
export function Account({ onSignedOut }: { onSignedOut: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const everywhere = async () => {
    try {
      await api(() => http.POST('/v1/auth/logout-everywhere'));
      setCsrf(null);
      onSignedOut();
    } catch (e) {
      setError(e instanceof ApiError ? sentence(e.message) : 'Could not sign out everywhere.');
    }
  };
  return (
    <main>
      <h1>Your account</h1>
      <ChangePassword onChanged={() => undefined} />
      <section aria-labelledby="everywhere-title" className="form">
        <h2 id="everywhere-title">Sign out everywhere</h2>
        <p>Ends every session of yours, on every browser and computer, this one included.</p>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="actions"><button type="button" className="danger" onClick={() => void everywhere()}>Sign out everywhere</button></div>
      </section>
    </main>
  );
}
