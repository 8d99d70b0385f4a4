import { generateRecoveryKey } from '@coffer/core';
import { booleanOption, stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { KeyDelivery } from '../new-key.ts';
import { readPassword } from '../password.ts';
import { loadClient } from '../client.ts';
import { requireLogin, serverApi, serverOrigin } from '../server-login.ts';
import type { Session } from '../session.ts';
import { schemeOf } from '../storage-url.ts';
import { NEW_KEY_OPTIONS, recoveryKeyDescription } from './key-common.ts';

export const keyAddCommand: Command = {
  name: 'key add',
  summary: 'add another recovery key, or a vault password (coffer: repositories)',
  usage: '',
  description: [
    'Adds a new recovery key as another unlock method; the existing ones keep working. Nothing is re-encrypted.',
    'The new key is written to --write-recovery-key FILE (mode 0600, never over an existing file) or shown once on the terminal; without either, the command refuses.',
    'With --password, on a Coffer server repository (-r coffer:https://host), the account\'s vault password becomes an unlock method instead: the new password comes from $COFFER_PASSWORD_FILE, $COFFER_PASSWORD or the prompt, and the recovery key proves to the server that you may set it. The server keeps a guess-limited vault; setting a new password replaces the account\'s previous one, and keyslots made with the old password stop working. The account needs a name (see `coffer init --username`).',
  ].join('\n\n'),
  options: {
    ...NEW_KEY_OPTIONS,
    password: { type: 'boolean', description: 'add a vault password instead of a recovery key (Coffer server repositories)' },
  },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    if (booleanOption(args, 'password')) return addPassword(session, stringOption(args, 'label'));
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

/**
 * A password slot: OPAQUE registration with the server's vault (after a
 * step-up with the recovery key), then a keyslot from export key ‖ share.
 */
async function addPassword(session: Session, label: string | undefined): Promise<number> {
  if (schemeOf(session.repositorySpec) !== 'coffer') throw new UsageError('--password needs a Coffer server repository (-r coffer:https://host): the password lives in its guess-limited vault', 'key add');
  if (!session.recoveryKeyGiven()) throw new UsageError('adding a password needs the recovery key (to prove to the server you may): COFFER_RECOVERY_KEY, COFFER_RECOVERY_KEY_FILE or --recovery-key-file', 'key add');
  const origin = serverOrigin(session.repositorySpec);
  const login = await requireLogin(session.io.env, origin);
  const username = login.username ?? (await session.username(origin));
  if (username === undefined) throw new UsageError('the account has no name, so nobody could sign in with a password: create it with `coffer init --username NAME`', 'key add');
  const text = label ?? 'Password';
  if (new TextEncoder().encode(text).length > 64) throw new UsageError('--label is at most 64 bytes', 'key add');
  const repository = await session.open();
  const { setPassword, stepUpWithRecoveryKey } = await loadClient();
  const api = await serverApi(origin, login.token);
  await stepUpWithRecoveryKey(api, await session.recoveryKey());
  const secrets = await setPassword(api, await readPassword(session.io, 'New password', true));
  const id = await repository.addKeyslot({
    description: { type: 'password', metadata: { label: text, createdAt: Date.now(), lastUsedAt: 0, vaultAccount: username } },
    secret: { type: 'password', exportKey: secrets.exportKey, vaultShare: secrets.share },
  });
  session.out.result({ id, type: 'password', label: text, vaultAccount: username, attemptsLeft: secrets.attemptsLeft }, [
    `added a password for ${username} as key ${id.slice(0, 8)}; the server allows ${String(secrets.attemptsLeft)} wrong guesses before it erases the vault`,
  ]);
  return EXIT.ok;
}
