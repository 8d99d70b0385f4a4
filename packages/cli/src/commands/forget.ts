import { type ForgetPolicy, type PruneReport, type StoredSnapshot, planForget, prune } from '@coffer/engine';
import { type ParsedArgs, booleanOption, integerOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { formatTime, plural, shortId } from '../format.ts';
import { snapshotJson } from '../snapshot-view.ts';
import { pruneSummary } from './prune.ts';

const POLICY_OPTIONS = [
  ['keep-last', 'keepLast'],
  ['keep-daily', 'keepDaily'],
  ['keep-weekly', 'keepWeekly'],
  ['keep-monthly', 'keepMonthly'],
] as const;

function policyOf(args: ParsedArgs): ForgetPolicy | undefined {
  const policy: Record<string, number> = {};
  for (const [option, field] of POLICY_OPTIONS) {
    const value = integerOption(args, option, 'forget', 1);
    if (value !== undefined) policy[field] = value;
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}

export const forgetCommand: Command = {
  name: 'forget',
  summary: 'remove snapshots by policy or by id (with --prune, also the data only they used)',
  usage: '[SNAPSHOT...]',
  description: [
    'Removes the named snapshots, or every snapshot a --keep-* policy does not keep (restic’s semantics: a snapshot is kept when any rule keeps it; days, weeks and months are UTC calendar buckets). The newest snapshot is always kept: it anchors rollback detection.',
    'Forgetting removes only snapshot manifests; the data they alone used stays until `coffer prune` (or --prune here). Takes an exclusive lock.',
  ].join('\n\n'),
  options: {
    'keep-last': { type: 'string', value: 'N', description: 'keep the N newest snapshots' },
    'keep-daily': { type: 'string', value: 'N', description: 'keep the newest snapshot of each of the last N days that have one' },
    'keep-weekly': { type: 'string', value: 'N', description: 'keep the newest snapshot of each of the last N weeks that have one' },
    'keep-monthly': { type: 'string', value: 'N', description: 'keep the newest snapshot of each of the last N months that have one' },
    prune: { type: 'boolean', description: 'then remove the data no remaining snapshot needs' },
    'dry-run': { type: 'boolean', short: 'n', description: 'only show what would be removed' },
  },
  args: { min: 0, max: Infinity },
  repository: true,
  async run(session, args, references) {
    const { out } = session;
    const policy = policyOf(args);
    if (policy === undefined && references.length === 0) throw new UsageError('name snapshots to forget, or give a policy such as --keep-last N', 'forget');
    if (policy !== undefined && references.length > 0) throw new UsageError('give snapshot ids or a --keep-* policy, not both', 'forget');
    const dryRun = booleanOption(args, 'dry-run');
    const repository = await session.open();
    const result = await session.withLock(repository, true, async () => {
      const all = await repository.snapshots();
      // Refuses a rolled-back repository before deciding anything from its list.
      const latest = await repository.latestSnapshot(all);
      let keep: StoredSnapshot[];
      let remove: StoredSnapshot[];
      if (policy !== undefined) {
        ({ keep, remove } = planForget(all, policy));
      } else {
        const named = new Set<string>();
        for (const reference of references) named.add((await repository.findSnapshot(reference)).id);
        if (latest && named.has(latest.id)) throw new UsageError(`snapshot ${shortId(latest.id)} is the newest and is always kept (it anchors rollback detection)`, 'forget');
        remove = all.filter((s) => named.has(s.id));
        keep = all.filter((s) => !named.has(s.id));
      }
      if (!dryRun) for (const s of remove) await repository.storage.delete(s.name);
      let pruned: PruneReport | undefined;
      if (booleanOption(args, 'prune')) {
        // A dry run removed nothing, so a prune now would not show what forgetting frees.
        if (dryRun) out.info('--prune: nothing is pruned in a dry run');
        else
          pruned = await prune(repository, {
            onProgress: (message) => {
              out.info(message);
            },
          });
      }
      return { keep, remove, pruned };
    });
    const line = (s: StoredSnapshot): string => `  ${shortId(s.id)}  #${String(s.snapshot.seq)}  ${formatTime(s.snapshot.time)}  ${s.snapshot.host}  ${s.snapshot.paths.join(' ')}`;
    out.result(
      { dryRun, keep: result.keep.map(snapshotJson), remove: result.remove.map(snapshotJson), prune: result.pruned ?? null },
      [
        `keep ${plural(result.keep.length, 'snapshot')}:`,
        ...result.keep.map(line),
        `${dryRun ? 'would remove' : 'removed'} ${plural(result.remove.length, 'snapshot')}${result.remove.length > 0 ? ':' : ''}`,
        ...result.remove.map(line),
        ...(result.pruned ? pruneSummary(result.pruned, dryRun) : []),
      ],
    );
    return EXIT.ok;
  },
};
