import { generateRecoveryKey, toHex, type RecoveryKey } from '@coffer/core';
import { Repository } from '@coffer/engine';
import { stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import type { Env } from '../io.ts';
import { KeyDelivery } from '../new-key.ts';
import { loadClient } from '../client.ts';
import { readLogin, saveLogin, serverApi, serverOrigin } from '../server-login.ts';
import { schemeOf } from '../storage-url.ts';
import { NEW_KEY_OPTIONS, recoveryKeyDescription } from './key-common.ts';

export const initCommand: Command = {
  name: 'init',
  summary: 'create a repository and its first recovery key',
  usage: '',
  description: [
    'Creates a new, empty repository at -r/--repo (or $COFFER_REPOSITORY) with one unlock method: a new recovery key.',
    'The key is written to --write-recovery-key FILE (created with mode 0600; an existing file is never overwritten) or, without that option, shown once on the terminal. Without a file and without a terminal, init refuses rather than create a key nobody has seen.',
    'On a Coffer server (-r coffer:https://host) where this computer has no session yet, init also creates an account there that the new recovery key signs in to (--username NAME gives it a name for password sign-in later) and keeps the session like `coffer login`.',
    'Keep the key safe and offline. Whoever holds it can read the backups; if every unlock method is lost, the backups are lost.',
  ].join('\n\n'),
  options: {
    ...NEW_KEY_OPTIONS,
    username: { type: 'string', value: 'NAME', description: 'on a Coffer server without a session: the new account\'s name, for password sign-in later (default: $COFFER_USERNAME)' },
  },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    const { out } = session;
    const server = schemeOf(session.repositorySpec) === 'coffer' ? serverOrigin(session.repositorySpec) : undefined;
    const location = server === undefined ? (await session.storage()).location : `coffer:${server}`;
    const delivery = KeyDelivery.prepare(session.io, out, stringOption(args, 'write-recovery-key'), 'init');
    const recoveryKey = generateRecoveryKey();
    await delivery.write(recoveryKey, location);
    let repository: Repository;
    try {
      // On a Coffer server without a session yet, the new recovery key also creates the account and signs in.
      if (server !== undefined && (await readLogin(session.io.env, server)) === undefined) {
        await createServerAccount(session.io.env, server, recoveryKey, stringOption(args, 'username') ?? (session.io.env.COFFER_USERNAME || undefined));
      }
      const storage = await session.storage();
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
      { repository: { id: repository.id, location }, keyslot: { id: slotId, type: 'recovery-key' }, recoveryKeyFile: delivery.file ?? null },
      [`created repository ${repository.id.slice(0, 8)} at ${location}`, delivery.file === undefined ? 'the recovery key was shown above' : `recovery key written to ${delivery.file}`],
    );
    return EXIT.ok;
  },
};

async function createServerAccount(env: Env, origin: string, recoveryKey: RecoveryKey, username: string | undefined): Promise<void> {
  const { createAccountWithRecoveryKey } = await loadClient();
  const api = await serverApi(origin);
  const created = await createAccountWithRecoveryKey(api, { recoveryKey, ...(username === undefined ? {} : { username }) });
  if (api.token === undefined) throw new Error('the server opened no bearer session');
  await saveLogin(env, origin, { token: api.token, accountId: created.accountId, username: username ?? null, method: 'recovery-key', expiresAt: created.session.expiresAt });
}
