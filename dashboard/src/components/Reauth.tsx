import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, onReauthRequired, reauth } from '../api';
import { Dialog } from './Dialog';

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** "Verify it's you": shown when a sensitive action needs a fresh password check, then the action goes on. */
export function ReauthProvider() {
  const [pending, setPending] = useState<Pending | null>(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    onReauthRequired(() => new Promise<void>((resolve, reject) => setPending({ resolve, reject })));
  }, []);

  const close = useCallback(() => {
    pending?.reject(new ApiError(403, 'reauth_required', 'Cancelled: the action needs your password.'));
    setPending(null);
    setPassword('');
    setError(null);
  }, [pending]);

  if (!pending) return null;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await reauth(password);
      pending.resolve();
      setPending(null);
      setPassword('');
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Something went wrong.');
    }
  };
  return (
    <Dialog title="Verify it’s you" onClose={close}>
      <form onSubmit={submit}>
        <p>This action needs your password again.</p>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" onClick={close}>Cancel</button>
          <button type="submit" className="primary">Continue</button>
        </div>
      </form>
    </Dialog>
  );
}
