/** Every command, in the order `coffer --help` lists them. */
import type { Command } from '../command.ts';
import { backupCommand } from './backup.ts';
import { catConfigCommand } from './cat.ts';
import { checkCommand } from './check.ts';
import { diffCommand } from './diff.ts';
import { forgetCommand } from './forget.ts';
import { initCommand } from './init.ts';
import { keyAddCommand } from './key-add.ts';
import { keyListCommand } from './key-list.ts';
import { keyRemoveCommand } from './key-remove.ts';
import { loginCommand } from './login.ts';
import { logoutCommand } from './logout.ts';
import { lsCommand } from './ls.ts';
import { pruneCommand } from './prune.ts';
import { restoreCommand } from './restore.ts';
import { snapshotsCommand } from './snapshots.ts';
import { unlockCommand } from './unlock.ts';
import { versionCommand } from './version.ts';

export const COMMANDS: readonly Command[] = [
  initCommand,
  backupCommand,
  snapshotsCommand,
  restoreCommand,
  lsCommand,
  diffCommand,
  checkCommand,
  forgetCommand,
  pruneCommand,
  keyListCommand,
  keyAddCommand,
  keyRemoveCommand,
  catConfigCommand,
  unlockCommand,
  loginCommand,
  logoutCommand,
  versionCommand,
];

/** Words that only group subcommands: `coffer key` alone is not a command. */
export const GROUPS: Readonly<Record<string, string>> = {
  key: 'manage unlock methods (list, add, remove)',
  cat: 'print repository objects (config)',
};

export function findCommand(words: readonly string[]): { command: Command; consumed: number } | undefined {
  const [first, second] = words;
  if (first === undefined) return undefined;
  if (first in GROUPS) {
    const command = COMMANDS.find((c) => c.name === `${first} ${second ?? ''}`);
    return command ? { command, consumed: 2 } : undefined;
  }
  const command = COMMANDS.find((c) => c.name === first);
  return command ? { command, consumed: 1 } : undefined;
}
