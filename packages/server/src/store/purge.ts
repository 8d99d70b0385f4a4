import type { Db } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { logSecurityEvent } from '../security-log/security-log.ts';
import type { BlobStore } from './blob-store.ts';
import { forget, purgeable } from './catalogue.ts';

/**
 * Removes bodies whose retention window has passed: the blob first, then its
 * row, so a crash in between leaves a row whose blob is gone (removed again,
 * harmlessly, by the next run) and never a blob nobody knows about. Several
 * server instances may purge at once: both steps are idempotent.
 *
 * The server cannot read snapshots, so it cannot know what a snapshot needs;
 * what it guarantees is that nothing is purged that a client did not delete
 * with a step-up at least the retention window ago. The client's prune
 * deletes only what no kept snapshot references.
 */
export async function purgeExpired(db: Db, blobs: BlobStore, now: number = nowMs()): Promise<number> {
  let purged = 0;
  const perAccount = new Map<string, { objects: number; bytes: number }>();
  for (;;) {
    const batch = await purgeable(db, now, 500);
    if (batch.length === 0) break;
    for (const entry of batch) {
      await blobs.remove(entry.blobKey);
      await db.transaction((tx) => forget(tx, entry.blobKey));
      const tally = perAccount.get(entry.accountId) ?? { objects: 0, bytes: 0 };
      tally.objects++;
      tally.bytes += entry.size;
      perAccount.set(entry.accountId, tally);
      purged++;
    }
  }
  for (const [accountId, tally] of perAccount) {
    await logSecurityEvent(db, { accountId, type: 'store-purged', detail: tally, device: 'server', clientAddress: 'server' });
  }
  return purged;
}
