import { CofferError } from '@coffer/core';
import type { Command } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { loadClient } from '../client.ts';
import { forgetLogin, readLogin, serverApi, serverOrigin } from '../server-login.ts';
import { schemeOf } from '../storage-url.ts';

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'revoke this computer\'s session with a Coffer server',
  usage: '',
  description: 'Revokes the session `coffer login` stored for the server in -r/--repo (coffer:https://host) and forgets it. If the server cannot be reached, the local copy is forgotten anyway and the session can be revoked from another device.',
  options: {},
  args: { min: 0, max: 0 },
  repository: true,
  async run(session) {
    if (schemeOf(session.repositorySpec) !== 'coffer') throw new UsageError('logout is for Coffer server repositories: -r coffer:https://host', 'logout');
    const origin = serverOrigin(session.repositorySpec);
    const login = await readLogin(session.io.env, origin);
    let revoked = false;
    if (login !== undefined) {
      try {
        const { signOut } = await loadClient();
        await signOut(await serverApi(origin, login.token));
        revoked = true;
      } catch (error) {
        // An expired or already revoked session is as good as revoked; anything else is worth a warning.
        if (error instanceof CofferError && error.code === 'E_UNAUTHENTICATED') revoked = true;
        else session.out.warn(`could not revoke the session on ${origin} (${error instanceof Error ? error.message : String(error)}); it was forgotten here`);
      }
    }
    const forgotten = await forgetLogin(session.io.env, origin);
    session.out.result({ server: origin, revoked, forgotten }, [forgotten ? `signed out of ${origin}` : `was not signed in to ${origin}`]);
    return EXIT.ok;
  },
};
