export const dateTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');
export const dateTimeSeconds = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });

const startOfDay = (ms: number): number => new Date(ms).setHours(0, 0, 0, 0);

/**
 * How far a date is from today in calendar days, as people say it: "today" only for today's
 * date, "tomorrow" for tomorrow's even when it is an hour away, "in 29 days". (Rounding absorbs a
 * daylight-saving day of 23 or 25 hours.)
 */
export function relativeDay(iso: string, now = Date.now()): string {
  const days = Math.round((startOfDay(Date.parse(iso)) - startOfDay(now)) / 86_400_000);
  if (days === 0) return 'today';
  if (days === 1) return 'tomorrow';
  if (days === -1) return 'yesterday';
  return days > 0 ? `in ${days} days` : `${-days} days ago`;
}

export function expiry(iso: string | null): string {
  if (!iso) return 'Never';
  if (Date.parse(iso) <= Date.now()) return `Expired ${day(iso)}`;
  return relativeDay(iso) === 'today' ? `${dateTime(iso)} (today)` : `${day(iso)} (${relativeDay(iso)})`;
}

const LEVEL_WORDS: Record<string, string> = { read: 'read only', full: 'full access', write: 'make changes', send: 'send' };
export const levelWord = (level: string) => LEVEL_WORDS[level] ?? level;


/**
 * A field's error as a person would say it, next to the field: the API's validation messages name
 * the field and a JSON Schema rule ("expires_at must match format \"date-time\""), which a person
 * should never have to read.
 */
export function inWords(error: { message: string; field?: string | undefined }): string {
  const message = error.message;
  const field = error.field ?? '';
  if (/^expires_at\b/.test(field) && /date-time|format|ISO-8601|missing/.test(message)) return 'Choose a date.';
  if (/must NOT have fewer than 1 characters?/.test(message)) return 'Fill this in.';
  const bound = /must NOT have (more|fewer) than (\d+) (characters?|items?)/.exec(message);
  if (bound) {
    const [, side, count, unit] = bound;
    const most = side === 'more' ? 'at most' : 'at least';
    return unit!.startsWith('item') ? `Choose ${most} ${count}.` : `Use ${most} ${count} character${count === '1' ? '' : 's'}.`;
  }
  return sentence(field && message.startsWith(`${field} `) ? message.slice(field.length + 1).replace(/^must /, 'This must ') : message);
}

/** The API's messages are lower-case clauses; on their own on a page they read as sentences. */
export const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? '' : '.'}`;
