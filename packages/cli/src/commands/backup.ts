import { type BackupProgress, backup } from '@coffer/engine/node';
import { silentProgress } from '../progress.ts';
import { booleanOption, stringOption, stringsOption, timeOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes, formatDuration, plural, shortId } from '../format.ts';
import { describeSnapshot, snapshotJson } from '../snapshot-view.ts';

export const backupCommand: Command = {
  name: 'backup',
  summary: 'back up files and directories as a new snapshot',
  usage: 'PATH...',
  description: [
    'Backs up the given files and directories into one new snapshot. Files unchanged since the previous snapshot (same size, mtime and mode) are not read again; new data is chunked, deduplicated, compressed and encrypted.',
    'Holds a shared lock on the repository while it runs. A path that cannot be read (permissions, special files such as FIFOs and sockets) is listed and skipped; the snapshot is still written and the exit code is 3.',
  ].join('\n\n'),
  options: {
    tag: { type: 'string', multiple: true, value: 'TAG', description: 'add TAG to the snapshot (repeatable)' },
    host: { type: 'string', value: 'NAME', description: 'the host name recorded in the snapshot (default: this computer)' },
    time: { type: 'string', value: 'TIME', description: 'the time recorded in the snapshot, e.g. "2026-11-01 14:30:00" (local) or "2026-11-01T12:00:00Z" (default: now); forget\'s --keep-* policies go by it' },
    force: { type: 'boolean', description: 'read every file again instead of trusting the previous snapshot' },
  },
  args: { min: 1, max: Infinity },
  repository: true,
  async run(session, args, paths) {
    const { out } = session;
    const time = timeOption(args, 'time', 'backup');
    const repository = await session.open();
    const started = Date.now();
    const report = await session.withLock(repository, false, async () => {
      const progress = out.progress('backup');
      const host = stringOption(args, 'host');
      const result = await backup(repository, paths, {
        tags: stringsOption(args, 'tag'),
        ...(host === undefined ? {} : { host }),
        ...(time === undefined ? {} : { now: () => time }),
        ...(booleanOption(args, 'force') ? { parent: null } : {}),
        // Nothing to show (quiet, --json, not a terminal): not even the progress is computed, once per piece read.
        ...(progress === silentProgress
          ? {}
          : {
              onProgress: (p: BackupProgress) => {
                progress.update({ unit: 'files', done: p.files, total: p.totalFiles, bytes: p.bytes, totalBytes: p.totalBytes, note: `${formatBytes(p.addedBytes)} new` });
              },
            }),
      });
      progress.clear();
      return result;
    });
    const { snapshot, unreadable, warnings } = report;
    const summary = snapshot.snapshot.summary;
    for (const u of unreadable) out.warn(`could not read ${u.path}: ${u.message}`);
    for (const w of warnings) out.warn(`${w.path}: ${w.message}`);
    out.result({ snapshot: snapshotJson(snapshot), unreadable, warnings, durationMs: Date.now() - started }, [
      `${describeSnapshot(snapshot)} saved`,
      `  ${plural(summary.files, 'file')}, ${plural(summary.dirs, 'directory', 'directories')}, ${formatBytes(summary.bytes)} processed, ${formatBytes(summary.addedBytes)} new in ${formatDuration(Date.now() - started)}`,
      ...(unreadable.length > 0 ? [`  ${plural(unreadable.length, 'path')} could not be read and ${unreadable.length === 1 ? 'is' : 'are'} not in snapshot ${shortId(snapshot.id)} (listed above)`] : []),
    ]);
    return unreadable.length > 0 ? EXIT.partial : EXIT.ok;
  },
};
