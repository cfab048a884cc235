import { useCallback, useEffect, useState } from 'react';
import { ApiError, onReauthRequired } from '../api';
import { Dialog } from './Dialog';
import { PasswordCheck } from './PasswordCheck';

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** "Verify it's you": shown when a sensitive action needs a fresh password check, then the action goes on. */
export function ReauthProvider() {
  const [pending, setPending] = useState<Pending | null>(null);

  useEffect(() => {
    onReauthRequired(() => new Promise<void>((resolve, reject) => setPending({ resolve, reject })));
  }, []);

  const close = useCallback(() => {
    pending?.reject(new ApiError(403, 'reauth_required', 'Cancelled: the action needs your password.'));
    setPending(null);
  }, [pending]);

  if (!pending) return null;
  return (
    <Dialog title="Verify it’s you" onClose={close}>
      <PasswordCheck explanation="This action needs your password again." cancel="Cancel" onCancel={close}
        onVerified={() => {
          pending.resolve();
          setPending(null);
        }} />
    </Dialog>
  );
}
