/**
 * An adapter checks its account block when it is built, but building must not throw (the manager
 * makes every adapter first): a bad block is kept as the error that `start()` throws and `send()`
 * / `probe()` report.
 */
export function settleSettings<T>(resolve: () => T): { settings: T | undefined; error: unknown } {
  try {
    return { settings: resolve(), error: undefined };
  } catch (err) {
    return { settings: undefined, error: err };
  }
}
