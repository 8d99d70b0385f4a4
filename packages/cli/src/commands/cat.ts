import { toHex } from '@coffer/core';
import { Repository } from '@coffer/engine';
import type { Command } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { keyslotsJson } from './key-common.ts';

export const catConfigCommand: Command = {
  name: 'cat config',
  summary: 'print the repository’s public config',
  usage: '',
  description: [
    'Prints the public part of the newest repository config as JSON: format version, repository id, creation time, generation, engine parameters and each unlock method’s public metadata. No key is needed and no secret is shown (wrapped keys, salts and MACs are left out).',
    'Without a key, nothing here is authenticated: `coffer key list` shows the verified list of unlock methods.',
  ].join('\n\n'),
  options: {},
  args: { min: 0, max: 0 },
  repository: true,
  async run(session) {
    const { out } = session;
    const { config } = await Repository.readConfig(await session.storage());
    let params: unknown;
    try {
      params = JSON.parse(new TextDecoder().decode(config.params));
    } catch {
      params = { unparsed: toHex(config.params) };
    }
    const doc = {
      version: config.version,
      repositoryId: toHex(config.repositoryId),
      createdAt: new Date(config.createdAt).toISOString(),
      generation: config.generation,
      params,
      keyslots: keyslotsJson(config),
    };
    out.result(doc, JSON.stringify(doc, null, 2));
    return EXIT.ok;
  },
};
