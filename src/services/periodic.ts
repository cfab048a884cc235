/**
 * A job that runs on an interval and on demand, never twice at once: a demand made while it runs
 * is queued behind it. The timer never keeps the process alive; a failed run is reported and the
 * next tick tries again.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | null = null;
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly work: () => Promise<void>) {}

  start(intervalMs: number, onError: (error: unknown) => void): this {
    this.timer = setInterval(() => void this.run().catch(onError), intervalMs);
    this.timer.unref();
    return this;
  }

  run(): Promise<void> {
    this.last = this.last.catch(() => undefined).then(this.work);
    return this.last;
  }

  /** Stops the timer; by default runs the job once more, so that nothing queued is left behind. */
  async stop(finalRun = true): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await (finalRun ? this.run() : this.last.catch(() => undefined));
  }
}
