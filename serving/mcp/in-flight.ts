/** Requests being answered now, so that shutdown can let them finish (within a grace period) before closing the sessions. */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** Count one; the returned function (idempotent) marks it done. */
  enter(): () => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves when nothing runs, or after `ms`; true when idle. */
  async whenIdle(ms: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      new Promise<boolean>((resolve) => this.waiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return idle;
  }
}
