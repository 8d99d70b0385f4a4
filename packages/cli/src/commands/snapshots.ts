import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes, formatTime, plural, shortId, table } from '../format.ts';
import { snapshotJson } from '../snapshot-view.ts';

export const snapshotsCommand: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  usage: '',
  description: [
    'Lists every snapshot, oldest first, with its sequence number in the hash chain.',
    'Fails with E_ROLLBACK when the newest snapshot is older than one this computer has already seen (the storage was rolled back or snapshots were removed), and otherwise remembers the newest one.',
  ].join('\n\n'),
  options: {},
  args: { min: 0, max: 0 },
  repository: true,
  async run(session) {
    const { out } = session;
    const repository = await session.open();
    const all = await repository.snapshots();
    const latest = await repository.latestSnapshot(all);
    const rows = all.map((s) => [
      shortId(s.id),
      String(s.snapshot.seq),
      formatTime(s.snapshot.time),
      s.snapshot.host,
      s.snapshot.tags.join(','),
      formatBytes(s.snapshot.summary.bytes),
      s.snapshot.paths.join(' '),
    ]);
    out.result(
      { snapshots: all.map(snapshotJson), latest: latest ? { id: latest.id, seq: latest.snapshot.seq, time: latest.snapshot.time } : null },
      all.length === 0
        ? ['no snapshots yet']
        : [
            ...table(['ID', 'Seq', 'Time', 'Host', 'Tags', 'Size', 'Paths'], rows, [1, 5]),
            '',
            `${plural(all.length, 'snapshot')}${latest ? `; newest: #${String(latest.snapshot.seq)} (${shortId(latest.id)}) of ${formatTime(latest.snapshot.time)}` : ''}`,
          ],
    );
    return EXIT.ok;
  },
};
