import { CofferError } from '@coffer/core';
import { type CheckProblem, checkRepository } from '@coffer/engine';
import { booleanOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, ReportedFailure } from '../exit-codes.ts';
import { plural } from '../format.ts';

/**
 * Packs no index lists are what an interrupted backup (or one running right
 * now) leaves behind: harmless, and removed by prune. restic calls them
 * "additional files" and does not fail for them; neither do we.
 */
function isLeftover(problem: CheckProblem): boolean {
  return problem.severity === 'note';
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'verify the repository’s structure, and with --read-data all its data',
  usage: '',
  description: [
    'Checks that every snapshot, index file and tree opens and authenticates, that every blob a snapshot needs is indexed and its pack exists with the right size. With --read-data it also downloads every pack and verifies every blob (authentication and content hash).',
    'Each problem names the damaged or missing object; any problem makes the exit code 1. Packs that no index lists (left by an interrupted backup) are reported as notes: `coffer prune` removes them.',
  ].join('\n\n'),
  options: {
    'read-data': { type: 'boolean', description: 'read and verify all data, not only the structure' },
  },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const repository = await session.open();
    const readData = booleanOption(args, 'read-data');
    const report = await session.withLock(repository, false, async () => {
      const rollback: CheckProblem[] = [];
      try {
        await repository.latestSnapshot();
      } catch (error) {
        if (!(error instanceof CofferError) || error.code !== 'E_ROLLBACK') throw error;
        rollback.push({ object: 'snapshots/', message: `${error.code}: ${error.message}`, severity: 'error' });
      }
      const progress = out.progress('check');
      const result = await checkRepository(repository, {
        readData,
        onProgress: (done, total) => {
          progress.update({ unit: 'packs', done, total });
        },
      });
      progress.clear();
      return { ...result, problems: [...rollback, ...result.problems] };
    });
    const problems = report.problems.filter((p) => !isLeftover(p));
    const notes = report.problems.filter(isLeftover);
    const counts = `${plural(report.snapshots, 'snapshot')}, ${plural(report.trees, 'tree')}, ${plural(report.packs, 'pack')}${readData ? `, ${plural(report.blobsRead, 'blob')} read and verified` : ''}`;
    out.result(
      { readData, snapshots: report.snapshots, trees: report.trees, packs: report.packs, blobsRead: report.blobsRead, problems, notes },
      [
        `checked ${counts}`,
        ...notes.map((n) => `  note: ${n.object}: ${n.message}`),
        ...(problems.length === 0 ? ['no errors were found'] : [`${plural(problems.length, 'problem')} found:`, ...problems.map((p) => `  ${p.object}: ${p.message}`)]),
      ],
    );
    if (problems.length > 0) throw new ReportedFailure('E_INTEGRITY', `check found ${plural(problems.length, 'problem')}; the first: ${problems[0]?.object ?? ''}: ${problems[0]?.message ?? ''}`);
    return EXIT.ok;
  },
};
