/**
 * Runs async work one-at-a-time per key (in this process), so the transcript order of a session is
 * the order its messages arrived in. Different keys run concurrently.
 */
export class KeyedLane {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }

  /** Keys with work queued or running right now. */
  activeKeys(): IterableIterator<string> {
    return this.tails.keys();
  }

  get size(): number {
    return this.tails.size;
  }
}
