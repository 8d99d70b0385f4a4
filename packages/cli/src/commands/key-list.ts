import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatTime, table } from '../format.ts';
import { keyslotsJson } from './key-common.ts';

export const keyListCommand: Command = {
  name: 'key list',
  summary: 'list the repository’s unlock methods',
  usage: '',
  description:
    'Lists every unlock method (keyslot): id, type, label, when it was created and last used. The one that unlocked this session is marked with *. Needs a recovery key, so the list is authenticated by the repository config’s MAC.',
  options: {},
  args: { min: 0, max: 0 },
  repository: true,
  async run(session) {
    const { out } = session;
    const repository = await session.open();
    const current = repository.openedSlotId;
    const keys = keyslotsJson(repository.config).map((k) => ({ ...k, current: k.id === current }));
    const rows = keys.map((k) => [
      `${k.current ? '*' : ' '}${k.id.slice(0, 8)}`,
      k.type,
      k.label ?? '',
      k.createdAt === null ? '-' : formatTime(k.createdAt),
      k.lastUsedAt === null ? 'never recorded' : formatTime(k.lastUsedAt),
    ]);
    out.result({ keys }, table([' ID', 'Type', 'Label', 'Created', 'Last used'], rows));
    return EXIT.ok;
  },
};
