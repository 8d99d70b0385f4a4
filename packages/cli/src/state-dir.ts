/** Where Coffer remembers, per repository, the newest config and snapshot it has seen (rollback detection). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Env } from './io.ts';

export function stateDirectory(env: Env): string {
  if (env.COFFER_STATE_DIR) return resolve(env.COFFER_STATE_DIR);
  if (env.XDG_STATE_HOME) return join(resolve(env.XDG_STATE_HOME), 'coffer');
  return join(env.HOME ?? homedir(), '.local', 'state', 'coffer');
}
