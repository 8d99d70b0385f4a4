import { booleanOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatMode, formatTime, nsToIso } from '../format.ts';
import { describeSnapshot, snapshotJson } from '../snapshot-view.ts';
import { walkTree } from '../tree-walk.ts';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files in a snapshot',
  usage: 'SNAPSHOT|latest',
  description:
    'Lists every path in a snapshot, one per line, directories before what they hold. The snapshot’s root is "/", so a backed-up /home/me/chat appears as /chat. With --long, like ls -l: mode, size, modification time, path.',
  options: {
    long: { type: 'boolean', short: 'l', description: 'show mode, size and modification time' },
  },
  args: { min: 1, max: 1 },
  repository: true,
  async run(session, args, [reference = '']) {
    const { out } = session;
    const repository = await session.open();
    const stored = await repository.findSnapshot(reference);
    out.info(`${describeSnapshot(stored)}, paths ${stored.snapshot.paths.join(' ')}:`);
    const long = booleanOption(args, 'long');
    const nodes: Record<string, unknown>[] = [];
    const lines: string[] = [];
    for await (const { path, node } of walkTree(repository, stored.snapshot.tree)) {
      nodes.push({
        path,
        type: node.type,
        mode: node.mode,
        mtime: nsToIso(node.mtime),
        ...(node.type === 'file' ? { size: node.size } : {}),
        ...(node.type === 'symlink' ? { target: node.target } : {}),
      });
      if (!long) {
        lines.push(path);
        continue;
      }
      const size = node.type === 'file' ? String(node.size ?? 0) : '';
      const target = node.type === 'symlink' ? ` -> ${node.target ?? ''}` : '';
      lines.push(`${formatMode(node.type, node.mode)}  ${size.padStart(12)}  ${formatTime(Number(BigInt(node.mtime) / 1_000_000n))}  ${path}${target}`);
    }
    out.result({ snapshot: snapshotJson(stored), nodes }, lines);
    return EXIT.ok;
  },
};
