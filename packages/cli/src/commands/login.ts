import { stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { passwordGiven, readPassword } from '../password.ts';
import { loadClient } from '../client.ts';
import { saveLogin, serverApi, serverOrigin } from '../server-login.ts';
import { schemeOf } from '../storage-url.ts';

export const loginCommand: Command = {
  name: 'login',
  summary: 'sign in to a Coffer server (coffer: repositories)',
  usage: '',
  description: [
    'Signs in to the Coffer server named by -r/--repo coffer:https://host (or $COFFER_REPOSITORY) and keeps the session, a revocable token, in $COFFER_CONFIG_DIR/logins.json (default ~/.config/coffer, mode 0600).',
    'With a password ($COFFER_PASSWORD_FILE or $COFFER_PASSWORD) and --username NAME (or $COFFER_USERNAME), the password vault signs you in: every attempt counts against the account\'s guess limit, and the vault is erased when it runs out. Otherwise the recovery key signs you in (--recovery-key-file, $COFFER_RECOVERY_KEY_FILE, $COFFER_RECOVERY_KEY or the prompt).',
    'The session lets this computer read and add to the account\'s backups; it never lets anyone overwrite or delete them without a fresh proof of an unlock method. `coffer logout` revokes it.',
  ].join('\n\n'),
  options: { username: { type: 'string', value: 'NAME', description: 'the account name (default: $COFFER_USERNAME)' } },
  args: { min: 0, max: 0 },
  repository: true,
  async run(session, args) {
    if (schemeOf(session.repositorySpec) !== 'coffer') throw new UsageError('login is for Coffer server repositories: -r coffer:https://host', 'login');
    const origin = serverOrigin(session.repositorySpec);
    const { signInWithRecoveryKey, vaultLogin } = await loadClient();
    const api = await serverApi(origin);
    const username = stringOption(args, 'username') ?? (session.io.env.COFFER_USERNAME || undefined);
    let method: 'password' | 'recovery-key';
    let accountId: string;
    let expiresAt: number;
    if (!session.recoveryKeyGiven() && passwordGiven(session.io)) {
      if (username === undefined) throw new UsageError('a password sign-in needs --username NAME (or $COFFER_USERNAME)', 'login');
      const signedIn = await vaultLogin(api, { username, password: await readPassword(session.io, 'Password') });
      ({ accountId } = signedIn);
      ({ expiresAt } = signedIn.session);
      method = 'password';
    } else {
      const signedIn = await signInWithRecoveryKey(api, { recoveryKey: await session.recoveryKey(), ...(username === undefined ? {} : { username }) });
      ({ accountId } = signedIn);
      ({ expiresAt } = signedIn.session);
      method = 'recovery-key';
    }
    if (api.token === undefined) throw new UsageError('the server opened no bearer session', 'login');
    await saveLogin(session.io.env, origin, { token: api.token, accountId, username: username ?? null, method, expiresAt });
    session.out.result({ server: origin, accountId, username: username ?? null, method, expiresAt: new Date(expiresAt).toISOString() }, [
      `signed in to ${origin}${username === undefined ? '' : ` as ${username}`} with the ${method === 'password' ? 'password' : 'recovery key'}; the session lasts until ${new Date(expiresAt).toISOString()}`,
    ]);
    return EXIT.ok;
  },
};
