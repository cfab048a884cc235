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


/** The API's messages are lower-case clauses; on their own on a page they read as sentences. */
export const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}`;
