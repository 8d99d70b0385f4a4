import { resolve } from 'node:path';
import { restoreSnapshot } from '@coffer/engine/node';
import { requireOption, stringsOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, ReportedFailure } from '../exit-codes.ts';
import { formatBytes, plural } from '../format.ts';
import { describeSnapshot, snapshotJson } from '../snapshot-view.ts';

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore a snapshot into a directory',
  usage: 'SNAPSHOT|latest --target DIR',
  description: [
    'Restores a snapshot (an id, an unambiguous id prefix, or "latest") into --target DIR: each backed-up path P comes back as DIR/basename(P), with its permission bits and modification times.',
    'Every piece of data is authenticated before a byte of it is written, and a file appears under its name only once all of it verified: a damaged object is named in the output, never written. Any failure makes the exit code 1.',
    '"latest" is refused (E_ROLLBACK) when it is older than the newest snapshot this computer has already seen. The sequence number and date of the snapshot used are always shown.',
  ].join('\n\n'),
  options: {
    target: { type: 'string', short: 't', value: 'DIR', description: 'directory to restore into (created if missing)' },
    include: { type: 'string', short: 'i', multiple: true, value: 'PATTERN', description: 'restore only paths matching PATTERN (`*`, `?`, `**`; `/` anchors at the snapshot root; repeatable)' },
  },
  args: { min: 1, max: 1 },
  repository: true,
  async run(session, args, [reference = '']) {
    const { out } = session;
    const target = resolve(requireOption(args, 'target', 'restore'));
    const repository = await session.open();
    const result = await session.withLock(repository, false, async () => {
      const stored = await repository.findSnapshot(reference);
      out.info(`restoring ${describeSnapshot(stored)} to ${target}`);
      const progress = out.progress('restore');
      const report = await restoreSnapshot(repository, stored, target, {
        include: stringsOption(args, 'include'),
        onProgress: (p) => {
          progress.update({ unit: 'files', done: p.files, total: p.totalFiles, bytes: p.bytes, totalBytes: p.totalBytes });
        },
      });
      progress.clear();
      return { stored, report };
    });
    const { stored, report } = result;
    const doc = {
      snapshot: snapshotJson(stored),
      target,
      files: report.files,
      bytes: report.bytes,
      totalFiles: report.totalFiles,
      totalBytes: report.totalBytes,
      failures: report.failures,
    };
    if (report.failures.length === 0) {
      out.result(doc, `restored ${describeSnapshot(stored)}: ${plural(report.files, 'file')}, ${formatBytes(report.bytes)} to ${target}`);
      return EXIT.ok;
    }
    out.result(doc, [
      `restored ${describeSnapshot(stored)} INCOMPLETELY: ${String(report.files)} of ${plural(report.totalFiles, 'file')} to ${target}`,
      `${plural(report.failures.length, 'path')} could not be restored (nothing unverified was written):`,
      ...report.failures.map((f) => `  ${f.path}: ${f.message}`),
    ]);
    const integrity = report.failures.some((f) => f.message.startsWith('E_INTEGRITY'));
    throw new ReportedFailure(integrity ? 'E_INTEGRITY' : 'E_IO', `${plural(report.failures.length, 'path')} of ${describeSnapshot(stored)} could not be restored`);
  },
};
