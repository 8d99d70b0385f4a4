import { describe, expect, test } from 'vitest';
import { CofferError } from '@coffer/core';
import { TransientError, withRetry, type RetryOptions } from '../src/storage/retry.ts';

/** A fake clock: sleeping advances it, so schedules are checked without waiting. */
function fakeTime(random = 1): RetryOptions & { readonly sleeps: number[] } {
  let clock = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    random: () => random,
  };
}

describe('withRetry', () => {
  test('returns the first success and tells each try its number', async () => {
    const seen: number[] = [];
    const result = await withRetry(
      'op',
      (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new TransientError('reset');
        return Promise.resolve('done');
      },
      fakeTime(),
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  test('gives up after 5 tries with E_STORAGE_UNAVAILABLE and the last cause', async () => {
    const time = fakeTime();
    let tries = 0;
    const failure = withRetry('put data/x', () => Promise.reject(new TransientError(`reset ${String(++tries)}`)), time);
    await expect(failure).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', message: expect.stringContaining('put data/x: failed 5 times') as unknown });
    await expect(failure).rejects.toSatisfy((error) => (error as Error).cause instanceof TransientError && ((error as Error).cause as Error).message === 'reset 5');
    expect(tries).toBe(5);
    // Backoff caps double from the base; with random() = 1 the delay is the cap itself.
    expect(time.sleeps).toEqual([100, 200, 400, 800]);
  });

  test('full jitter: the delay is random() times the cap', async () => {
    const time = fakeTime(0.5);
    await expect(withRetry('op', () => Promise.reject(new TransientError('x')), { ...time, maxAttempts: 3, baseDelayMs: 1000 })).rejects.toMatchObject({
      code: 'E_STORAGE_UNAVAILABLE',
    });
    expect(time.sleeps).toEqual([500, 1000]);
  });

  test('stops when the next delay would pass the 30 s budget', async () => {
    const time = fakeTime();
    let tries = 0;
    const slowFailure = async (): Promise<never> => {
      tries++;
      // Each try itself burns 12 s of the budget.
      await time.sleep?.(12_000);
      throw new TransientError('timeout');
    };
    await expect(withRetry('op', slowFailure, { ...time, baseDelayMs: 1000 })).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE' });
    // 12 s + 1 s wait + 12 s = 25 s; a 2 s wait and a third try would start at 27 s, within budget; after it 39 s > 30 s.
    expect(tries).toBe(3);
    expect(time.sleeps.filter((ms) => ms !== 12_000)).toEqual([1000, 2000]);
  });

  test('errors that are not transient pass through at once', async () => {
    const denied = new CofferError('E_STORAGE_DENIED', 'no');
    let tries = 0;
    await expect(
      withRetry(
        'op',
        () => {
          tries++;
          return Promise.reject(denied);
        },
        fakeTime(),
      ),
    ).rejects.toBe(denied);
    expect(tries).toBe(1);
    const bug = new TypeError('bug');
    await expect(withRetry('op', () => Promise.reject(bug), fakeTime())).rejects.toBe(bug);
  });

  test('refuses more than 5 tries or more than 30 s', async () => {
    await expect(withRetry('op', () => Promise.resolve(1), { maxAttempts: 6 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(withRetry('op', () => Promise.resolve(1), { maxAttempts: 0 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(withRetry('op', () => Promise.resolve(1), { budgetMs: 30_001 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });

  test('the real sleep waits', async () => {
    const start = Date.now();
    let tries = 0;
    await withRetry(
      'op',
      () => {
        if (++tries === 1) throw new TransientError('once');
        return Promise.resolve();
      },
      { baseDelayMs: 40, random: () => 1 },
    );
    expect(Date.now() - start).toBeGreaterThanOrEqual(35);
  });
});
