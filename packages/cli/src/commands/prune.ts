import { type PruneReport, prune } from '@coffer/engine';
import { booleanOption, stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { formatBytes, plural } from '../format.ts';

export function pruneSummary(report: PruneReport, dryRun: boolean): string[] {
  return [
    `${dryRun ? 'would delete' : 'deleted'} ${plural(report.packsDeleted, 'pack')} (${String(report.packsRepacked)} repacked), freeing about ${formatBytes(report.bytesFreed)}; ${plural(report.blobsKept, 'blob')} still in use`,
  ];
}

/** "5%", "5" or "0.05%": the share of a pack's bytes that may be unused before it is repacked. */
function maxUnusedOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent >= 0 && percent <= 100)) throw new UsageError(`--max-unused takes a percentage from 0% to 100%, not "${text}"`, 'prune');
  return percent / 100;
}

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'remove data no snapshot needs',
  usage: '',
  description: [
    'Deletes packs that no snapshot needs and repacks packs that are mostly unused, in an order that keeps every kept snapshot restorable even if prune is interrupted. Also removes packs left by interrupted backups.',
    'Takes an exclusive lock: no backup can run meanwhile.',
  ].join('\n\n'),
  options: {
    'max-unused': { type: 'string', value: 'PERCENT', description: 'repack a pack when more than PERCENT of it is unused (default 5%)' },
    'dry-run': { type: 'boolean', short: 'n', description: 'only show what would be removed' },
  },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const maxUnused = maxUnusedOf(stringOption(args, 'max-unused'));
    const dryRun = booleanOption(args, 'dry-run');
    const repository = await session.open();
    const report = await session.withLock(repository, true, async () => {
      // A rolled-back repository would make prune delete data that newer snapshots need.
      await repository.latestSnapshot();
      return prune(repository, {
        dryRun,
        ...(maxUnused === undefined ? {} : { maxUnused }),
        onProgress: (message) => {
          out.info(message);
        },
      });
    });
    out.result({ dryRun, ...report }, pruneSummary(report, dryRun));
    return EXIT.ok;
  },
};
