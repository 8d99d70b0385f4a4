import { generateRecoveryKey, toHex } from '@coffer/core';
import { Repository } from '@coffer/engine';
import { stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { KeyDelivery } from '../new-key.ts';
import { NEW_KEY_OPTIONS, recoveryKeyDescription } from './key-common.ts';

export const initCommand: Command = {
  name: 'init',
  summary: 'create a repository and its first recovery key',
  usage: '',
  description: [
    'Creates a new, empty repository at -r/--repo (or $COFFER_REPOSITORY) with one unlock method: a new recovery key.',
    'The key is written to --write-recovery-key FILE (created with mode 0600; an existing file is never overwritten) or, without that option, shown once on the terminal. Without a file and without a terminal, init refuses rather than create a key nobody has seen.',
    'Keep the key safe and offline. Whoever holds it can read the backups; if every unlock method is lost, the backups are lost.',
  ].join('\n\n'),
  options: NEW_KEY_OPTIONS,
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const storage = await session.storage();
    const delivery = KeyDelivery.prepare(session.io, out, stringOption(args, 'write-recovery-key'), 'init');
    const recoveryKey = generateRecoveryKey();
    await delivery.write(recoveryKey, storage.location);
    let repository: Repository;
    try {
      repository = await Repository.init(
        storage,
        { description: recoveryKeyDescription(stringOption(args, 'label')), secret: { type: 'recovery-key', recoveryKey } },
        session.repositoryOptions,
      );
    } catch (error) {
      await delivery.abandon();
      throw error;
    }
    const first = repository.config.keyslots[0];
    const slotId = first ? toHex(first.slotId) : '';
    delivery.show(recoveryKey, out);
    out.result(
      { repository: { id: repository.id, location: storage.location }, keyslot: { id: slotId, type: 'recovery-key' }, recoveryKeyFile: delivery.file ?? null },
      [`created repository ${repository.id.slice(0, 8)} at ${storage.location}`, delivery.file === undefined ? 'the recovery key was shown above' : `recovery key written to ${delivery.file}`],
    );
    return EXIT.ok;
  },
};
