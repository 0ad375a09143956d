/** What a fake's `waitFor…(n)` waits on: `wake()` when the count may have moved, `until()` rechecks. */
export class Waiters {
  private readonly list: Array<() => void> = [];

  wake(): void {
    for (const w of this.list.splice(0)) w();
  }

  /**
   * Resolves once `reached()` holds; throws `failure()` (read at that moment) after `timeoutMs`.
   * `pollMs` rechecks without a wake too, for counts that move where nobody calls `wake()`.
   */
  async until(reached: () => boolean, timeoutMs: number, failure: () => string, pollMs = Infinity): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!reached()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(failure());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, pollMs));
        this.list.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
