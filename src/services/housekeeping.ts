/**
 * Runs periodic maintenance (retention purges) on a timer that never keeps the process alive and
 * never runs twice at once; a failed run is retried at the next tick.
 */
export function startHousekeeping(intervalMs: number, run: () => Promise<void>, onError: (error: unknown) => void = () => undefined) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    run().catch(onError).finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
