import { isStale, readLocks } from '@coffer/engine';
import { nodeLockEnvironment } from '@coffer/engine/node';
import { booleanOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { plural } from '../format.ts';

export const unlockCommand: Command = {
  name: 'unlock',
  summary: 'remove stale locks',
  usage: '',
  description: [
    'Removes locks left by coffer processes that no longer run: locks of this host whose process is gone, locks not refreshed for 30 minutes, and locks that cannot be read.',
    'With --remove-all, removes every lock, including those of running processes: only do that when you are sure none runs.',
  ].join('\n\n'),
  options: {
    'remove-all': { type: 'boolean', description: 'remove all locks, not only stale ones' },
  },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const repository = await session.open();
    const all = booleanOption(args, 'remove-all');
    const env = nodeLockEnvironment();
    const removed: { name: string; host: string | null; pid: number | null; exclusive: boolean | null; time: string | null }[] = [];
    let kept = 0;
    for (const { name, info } of await readLocks(repository.storage, repository.lockKey)) {
      if (all || info === undefined || isStale(info, env)) {
        await repository.storage.delete(name);
        removed.push({ name, host: info?.host ?? null, pid: info?.pid ?? null, exclusive: info?.exclusive ?? null, time: info?.time ?? null });
      } else {
        kept++;
      }
    }
    out.result({ removed, kept }, [
      `removed ${plural(removed.length, 'lock')}`,
      ...removed.map((l) => `  ${l.name}${l.host === null ? ' (unreadable)' : ` (${l.exclusive === true ? 'exclusive' : 'shared'}, ${l.host} pid ${String(l.pid)}, ${l.time ?? ''})`}`),
      ...(kept > 0 ? [`${plural(kept, 'lock')} of running processes kept (--remove-all removes them too)`] : []),
    ]);
    return EXIT.ok;
  },
};
