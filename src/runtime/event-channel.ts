/**
 * A typed event channel: the runtime publishes chat events, session changes and outbound
 * messages through one of these each. A listener that throws (a closed socket, a broken bridge)
 * must never break the run or the caller that emitted, so delivery isolates each listener.
 */
export type Listener<T> = (event: T) => void;

export class Channel<T> {
  readonly #listeners = new Set<Listener<T>>();

  /** Adds a listener; call the returned function to remove it. */
  subscribe(listener: Listener<T>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Hands the event to every listener; one that throws is skipped, the others still get it. */
  emit(event: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener must not break the emitter.
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
