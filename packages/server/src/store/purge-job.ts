import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.ts';
import type { BlobStore } from './blob-store.ts';
import { purgeExpired } from './purge.ts';

/** Runs the purge every `intervalMs` (0: never) until the server closes; a failed run is logged and retried next time. */
export function startPurgeJob(app: FastifyInstance, db: Db, blobs: BlobStore, intervalMs: number): void {
  if (intervalMs <= 0) return;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = purgeExpired(db, blobs).then(
      (purged) => {
        if (purged > 0) app.log.info({ purged }, 'purged expired store objects');
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'store purge failed');
      },
    );
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
