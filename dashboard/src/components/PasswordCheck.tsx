import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, reauth } from '../api';
import { sentence } from '../format';

/**
 * "Verify it's you": the password asked for again before something sensitive, in a dialog or on
 * the consent page. A wrong password is said next to the field, and nothing goes on until it is right.
 */
export function PasswordCheck({ heading, explanation, cancel, onVerified, onCancel, label, className }: {
  heading?: ReactNode;
  explanation: string;
  cancel: string;
  onVerified: () => void;
  onCancel: () => void;
  label?: string;
  className?: string;
}) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await reauth(password);
      onVerified();
    } catch (e) {
      setError(e instanceof ApiError ? sentence(e.message) : 'Could not check your password.');
    }
  };
  return (
    <form onSubmit={submit} aria-label={label} className={className}>
      {heading}
      <p>{explanation}</p>
      <label>
        Password
        <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="button" onClick={onCancel}>{cancel}</button>
        <button type="submit" className="primary">Continue</button>
      </div>
    </form>
  );
}
