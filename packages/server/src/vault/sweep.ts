import type { AppContext } from '../context.ts';
import type { Db } from '../db/db.ts';
import { logSecurityEvent } from '../security-log/security-log.ts';
import { sweepExhausted } from './store.ts';

/**
 * Erases exhausted vaults whose last login has expired, and drops expired
 * pending logins. Piggybacks on login traffic instead of a timer, at most once
 * per interval per process (several instances each sweep; the UPDATE makes
 * each vault's erasure happen, and be logged, exactly once).
 */
const INTERVAL_MS = 10_000;
const lastSweep = new WeakMap<Db, number>();

export async function sweepNow(ctx: AppContext): Promise<void> {
  const now = Date.now();
  if (now - (lastSweep.get(ctx.db) ?? 0) < INTERVAL_MS) return;
  lastSweep.set(ctx.db, now);
  await ctx.db.transaction(async (tx) => {
    for (const accountId of await sweepExhausted(tx, ctx.config.challengeTtlMs)) {
      // No request of the account's own caused this: the server did it when the last login expired.
      await logSecurityEvent(tx, { accountId, type: 'vault-erased', detail: { reason: 'guess-limit' }, device: 'Coffer server', clientAddress: '-' });
    }
  });
}
