/** A FIFO async mutex: `run` calls execute one at a time, in call order. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    // The chain must survive a rejected task; callers still see the rejection.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
