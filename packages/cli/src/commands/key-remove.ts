import { fromHex } from '@coffer/core';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { resolveSlotId } from './key-common.ts';

export const keyRemoveCommand: Command = {
  name: 'key remove',
  summary: 'remove an unlock method',
  usage: 'ID',
  description: [
    'Removes the unlock method with this id (or an unambiguous prefix of at least 4 hex digits; see `coffer key list`).',
    'Refuses to remove the last method (E_LAST_KEYSLOT): the backups would be lost. As in restic, the key used for this command cannot remove itself: unlock with another one.',
  ].join('\n\n'),
  options: {},
  args: { min: 1, max: 1 },
  repository: true,
  async run(session, _args, [reference = '']) {
    const { out } = session;
    const repository = await session.open();
    const id = resolveSlotId(repository.config, reference, 'key remove');
    // With one slot left, core's E_LAST_KEYSLOT is the answer that matters.
    if (repository.config.keyslots.length > 1 && id === repository.openedSlotId) {
      throw new UsageError(`key ${id.slice(0, 8)} is the one this command was unlocked with; unlock with another key to remove it`, 'key remove');
    }
    await repository.removeKeyslot(fromHex(id));
    out.result({ removed: id }, `removed key ${id.slice(0, 8)}`);
    return EXIT.ok;
  },
};
