/**
 * One step of the generic cell rate algorithm, on a lineage's stored instant (`undefined` for none
 * yet): when its budget is next whole again. A use at `now` is admitted while that instant lies
 * less than `burstMs` ahead, and moves it on by `intervalMs`. Returns how long to wait (0 when
 * admitted) and the instant to store (null when refused).
 */
export function gcraStep(stored: number | undefined, now: number, intervalMs: number, burstMs: number): { wait: number; next: number | null } {
  const due = stored === undefined || stored < now ? now : stored;
  if (due - burstMs > now) return { wait: due - burstMs - now, next: null };
  return { wait: 0, next: due + intervalMs };
}
