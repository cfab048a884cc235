export const dateTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');
export const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });

export function expiry(iso: string | null): string {
  if (!iso) return 'Never';
  const ms = Date.parse(iso) - Date.now();
  if (ms <= 0) return `Expired ${day(iso)}`;
  const days = Math.floor(ms / 86_400_000);
  return days >= 1 ? `${day(iso)} (in ${days} day${days === 1 ? '' : 's'})` : `${dateTime(iso)} (today)`;
}

const LEVEL_WORDS: Record<string, string> = { read: 'read only', full: 'full access', write: 'make changes', send: 'send' };
export const levelWord = (level: string) => LEVEL_WORDS[level] ?? level;

/**
 * Text the dashboard did not write (a name, an address, a user agent) set apart from what is
 * around it, so that no direction character in it can reorder the rest of the line: the string
 * form, for titles and labels; in markup the same is `<bdi>`.
 */
export const isolated = (text: string): string => `\u2068${text}\u2069`;
