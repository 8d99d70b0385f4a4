/**
 * `forget` policies (restic's semantics): which snapshots to keep. The newest
 * snapshot is always kept, so a policy can never empty a repository.
 */
import type { StoredSnapshot } from './snapshot.ts';

export interface ForgetPolicy {
  readonly keepLast?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
}

export interface ForgetPlan {
  readonly keep: StoredSnapshot[];
  readonly remove: StoredSnapshot[];
}

/** Buckets of a UTC calendar; a snapshot is kept when it is the newest of one of the first N buckets. */
const BUCKETS: [keyof ForgetPolicy, (date: Date) => string][] = [
  ['keepDaily', (d) => d.toISOString().slice(0, 10)],
  ['keepWeekly', (d) => isoWeek(d)],
  ['keepMonthly', (d) => d.toISOString().slice(0, 7)],
];

export function planForget(snapshots: readonly StoredSnapshot[], policy: ForgetPolicy): ForgetPlan {
  const newestFirst = [...snapshots].sort((a, b) => b.snapshot.seq - a.snapshot.seq || Date.parse(b.snapshot.time) - Date.parse(a.snapshot.time));
  const keep = new Set<StoredSnapshot>();
  if (newestFirst[0]) keep.add(newestFirst[0]);
  newestFirst.slice(0, policy.keepLast ?? 0).forEach((s) => keep.add(s));
  for (const [option, bucketOf] of BUCKETS) {
    const limit = policy[option] ?? 0;
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= limit) break;
      const bucket = bucketOf(new Date(s.snapshot.time));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(s);
    }
  }
  return { keep: newestFirst.filter((s) => keep.has(s)), remove: newestFirst.filter((s) => !keep.has(s)) };
}

function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${String(d.getUTCFullYear())}-W${String(week).padStart(2, '0')}`;
}
