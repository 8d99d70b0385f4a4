import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { plural } from '../format.ts';
import { describeSnapshot, snapshotJson } from '../snapshot-view.ts';
import { type ChangeKind, diffTrees } from '../tree-walk.ts';

export const diffCommand: Command = {
  name: 'diff',
  summary: 'show what changed between two snapshots',
  usage: 'SNAPSHOT SNAPSHOT',
  description:
    'Lists the paths that differ between two snapshots, restic-style: "+" added, "-" removed, "M" content modified, "T" type changed, "U" only mode or modification time updated. Directories end in "/".',
  options: {},
  args: { min: 2, max: 2 },
  repository: true,
  async run(session, _args, [first = '', second = '']) {
    const { out } = session;
    const repository = await session.open();
    const before = await repository.findSnapshot(first);
    const after = await repository.findSnapshot(second);
    out.info(`comparing ${describeSnapshot(before)} to ${describeSnapshot(after)}`);
    const changes = await diffTrees(repository, before.snapshot.tree, after.snapshot.tree);
    const counts: Record<ChangeKind, number> = { '+': 0, '-': 0, M: 0, T: 0, U: 0 };
    for (const c of changes) counts[c.kind]++;
    const shown = (path: string, type: string): string => (type === 'dir' ? `${path}/` : path);
    out.result(
      {
        from: snapshotJson(before),
        to: snapshotJson(after),
        changes: changes.map((c) => ({ change: c.kind, path: c.path, type: c.type })),
        added: counts['+'],
        removed: counts['-'],
        modified: counts.M,
        typeChanged: counts.T,
        metadataChanged: counts.U,
      },
      [
        ...changes.map((c) => `${c.kind.padEnd(5)}${shown(c.path, c.type)}`),
        ...(changes.length > 0 ? [''] : []),
        `${String(counts['+'])} added, ${String(counts['-'])} removed, ${String(counts.M)} modified, ${String(counts.T)} type changed, ${String(counts.U)} metadata only (${plural(changes.length, 'change')})`,
      ],
    );
    return EXIT.ok;
  },
};
