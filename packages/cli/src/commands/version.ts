import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the version',
  usage: '',
  description: 'Prints the version of coffer and of the Node.js that runs it.',
  options: {},
  args: { min: 0, max: 0 },
  repository: false,
  run(session) {
    session.out.result({ version: cliVersion(), node: process.version }, `coffer ${cliVersion()} (Node.js ${process.version})`);
    return Promise.resolve(EXIT.ok);
  },
};
