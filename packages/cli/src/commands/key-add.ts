import { generateRecoveryKey } from '@coffer/core';
import { stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { KeyDelivery } from '../new-key.ts';
import { NEW_KEY_OPTIONS, recoveryKeyDescription } from './key-common.ts';

export const keyAddCommand: Command = {
  name: 'key add',
  summary: 'add another recovery key',
  usage: '',
  description: [
    'Adds a new recovery key as another unlock method; the existing ones keep working. Nothing is re-encrypted.',
    'The new key is written to --write-recovery-key FILE (mode 0600, never over an existing file) or shown once on the terminal; without either, the command refuses.',
  ].join('\n\n'),
  options: NEW_KEY_OPTIONS,
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const delivery = KeyDelivery.prepare(session.io, out, stringOption(args, 'write-recovery-key'), 'key add');
    const description = recoveryKeyDescription(stringOption(args, 'label'));
    const repository = await session.open();
    const recoveryKey = generateRecoveryKey();
    await delivery.write(recoveryKey, repository.storage.location);
    let id: string;
    try {
      id = await repository.addKeyslot({ description, secret: { type: 'recovery-key', recoveryKey } });
    } catch (error) {
      await delivery.abandon();
      throw error;
    }
    delivery.show(recoveryKey, out);
    out.result({ id, type: 'recovery-key', label: description.metadata.label, recoveryKeyFile: delivery.file ?? null }, [
      `added recovery key ${id.slice(0, 8)}${delivery.file === undefined ? '' : `, written to ${delivery.file}`}`,
    ]);
    return EXIT.ok;
  },
};
