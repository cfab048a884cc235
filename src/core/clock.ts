/** Time as a dependency, so that expiry and retention are tested without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * `toISOString`, remembering the last second's text: an access-log flush formats thousands of
 * timestamps from the same few seconds, and each `toISOString` costs over a microsecond here.
 */
let lastSecond = Number.NaN;
let lastPrefix = '';
export function iso(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond || !Number.isSafeInteger(ms)) {
    const text = new Date(ms).toISOString();
    if (!Number.isSafeInteger(ms) || text.length !== 24) return text;
    lastSecond = second;
    lastPrefix = text.slice(0, 20);
    return text;
  }
  const millis = ms - second * 1000;
  return `${lastPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/**
 * The last instant Latchkey accepts: past year 9999 an ISO-8601 date needs a sign and six digits,
 * and no expiry that far is meant.
 */
export const LATEST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
