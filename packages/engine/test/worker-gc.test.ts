import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/**
 * Run in a fresh worker thread: it allocates almost nothing else, so the minor collections it
 * observes are the ones madeGarbage asked for.
 */
const probe = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { PerformanceObserver, constants } = require('node:perf_hooks');
  const vm = require('node:vm');
  (async () => {
    const before = vm.runInNewContext('typeof gc');
    const { madeGarbage } = await import(workerData.module);
    const after = vm.runInNewContext('typeof gc');
    let minor = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    observer.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < workerData.calls; i++) madeGarbage(1024 * 1024);
    // GC entries are delivered on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    parentPort.postMessage({ before, after, minor });
  })();
`;

function runProbe(calls: number): Promise<{ before: string; after: string; minor: number }> {
  const worker = new Worker(probe, { eval: true, workerData: { module: new URL('../src/node/worker-gc.ts', import.meta.url).href, calls } });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { before: string; after: string; minor: number }) => {
      void worker.terminate();
      resolve(message);
    });
    worker.once('error', reject);
  });
}

/** Whether a worker that loads worker-gc.ts can collect, for `count` workers started at once. */
async function startTogether(count: number): Promise<unknown[]> {
  const code = `const { parentPort, workerData } = require('node:worker_threads'); import(workerData).then((m) => parentPort.postMessage(m.collects));`;
  const module = new URL('../src/node/worker-gc.ts', import.meta.url).href;
  return Promise.all(
    Array.from({ length: count }, () => {
      const worker = new Worker(code, { eval: true, workerData: module });
      return new Promise<unknown>((resolve, reject) => {
        worker.once('message', (collects: unknown) => {
          void worker.terminate();
          resolve(collects);
        });
        worker.once('error', reject);
      });
    }),
  );
}

describe('worker-gc', () => {
  it('collects the young generation every 8 MiB of garbage reported', async () => {
    // 40 MiB reported: five collections asked for; an idle worker makes none of its own.
    const { minor } = await runProbe(40);
    expect(minor).toBeGreaterThanOrEqual(5);
  });

  it('sets --expose-gc back, so code caches made without it stay valid for every thread', async () => {
    const { before, after } = await runProbe(0);
    expect(before).toBe('undefined');
    expect(after).toBe('undefined');
  });

  it('gets gc in every worker when several start at once (the flag is process-wide and each sets it back)', async () => {
    // Before the retry, 14 of 40 workers started four at a time got no gc.
    const results: unknown[] = [];
    for (let round = 0; round < 10; round++) results.push(...(await startTogether(4)));
    expect(results.filter((collects) => collects !== true)).toEqual([]);
  });
});
