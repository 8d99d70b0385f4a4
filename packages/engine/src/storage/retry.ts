/**
 * Bounded retries for the drivers (contract: transient failures are retried
 * inside the driver). A driver marks what is worth retrying by throwing a
 * TransientError; anything else — a CofferError, a bug — passes through at
 * once. At most 5 tries, exponential backoff with full jitter (a random delay
 * in [0, min(cap, base·2^k)), so clients that failed together do not retry in
 * lockstep), and no new try once 30 s have gone by since the first.
 */
import { CofferError, fail } from '@coffer/core';

export const MAX_ATTEMPTS = 5;
export const MAX_BUDGET_MS = 30_000;

/** A failure that another try may fix: a reset, a timeout, a 5xx, a 429. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

export interface RetryOptions {
  /** Tries in all, 1–5 (default 5). */
  readonly maxAttempts?: number;
  /** First backoff cap in ms (default 100); doubles per try. */
  readonly baseDelayMs?: number;
  /** Largest backoff cap in ms (default 5,000). */
  readonly maxDelayMs?: number;
  /** No try starts later than this many ms after the first (default and maximum 30,000). */
  readonly budgetMs?: number;
  /** Seams for tests: a fake clock and sleep make the schedule checkable without waiting. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

function checkOptions(options: RetryOptions): Required<RetryOptions> {
  const resolved = {
    maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5_000,
    budgetMs: options.budgetMs ?? MAX_BUDGET_MS,
    sleep: options.sleep ?? realSleep,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1 || resolved.maxAttempts > MAX_ATTEMPTS) {
    fail('E_INVALID_ARGUMENT', `retry: maxAttempts must be an integer from 1 to ${String(MAX_ATTEMPTS)}`);
  }
  if (!(resolved.budgetMs >= 0 && resolved.budgetMs <= MAX_BUDGET_MS)) {
    fail('E_INVALID_ARGUMENT', `retry: budgetMs must be from 0 to ${String(MAX_BUDGET_MS)}`);
  }
  if (!(resolved.baseDelayMs >= 0) || !(resolved.maxDelayMs >= 0)) {
    fail('E_INVALID_ARGUMENT', 'retry: delays must be non-negative');
  }
  return resolved;
}

/**
 * Runs `op` until it succeeds, throws something other than a TransientError,
 * or the tries or the time budget run out; then E_STORAGE_UNAVAILABLE with
 * the last TransientError as its cause. `op` is told which try it is on, so a
 * create-only write can tell that an earlier try may have landed.
 * `what` goes into the error message: it must not contain secrets.
 */
export async function withRetry<T>(what: string, op: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { maxAttempts, baseDelayMs, maxDelayMs, budgetMs, sleep, now, random } = checkOptions(options);
  const start = now();
  let last: TransientError | undefined;
  let attempt = 0;
  while (attempt < maxAttempts) {
    attempt++;
    try {
      return await op(attempt);
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      last = error;
    }
    if (attempt === maxAttempts) break;
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const delay = Math.floor(random() * cap);
    if (now() - start + delay > budgetMs) break;
    await sleep(delay);
  }
  throw new CofferError(
    'E_STORAGE_UNAVAILABLE',
    `${what}: failed ${String(attempt)} time${attempt === 1 ? '' : 's'}; last error: ${last?.message ?? 'unknown'}`,
    { cause: last },
  );
}

/**
 * withRetry for a driver: every failure first goes through the driver's
 * `classify`, which turns library and system errors into CofferErrors or
 * TransientErrors, so that only transient failures are retried.
 */
export function withClassifiedRetry<T>(what: string, op: (attempt: number) => Promise<T>, classify: (error: unknown, what: string) => unknown, options: RetryOptions = {}): Promise<T> {
  return withRetry(
    what,
    async (attempt) => {
      try {
        return await op(attempt);
      } catch (error) {
        throw classify(error, what);
      }
    },
    options,
  );
}
