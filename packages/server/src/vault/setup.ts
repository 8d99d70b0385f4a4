import { createHmac, randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import type { Db } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/**
 * The installation's OPAQUE server setup (OPRF seed and server key pair) and
 * the key that names decoy counters. Both live in the database, created once:
 * a setup that changed on restart would make every stored record useless.
 *
 * Several instances may start on one empty PostgreSQL at once, so creation is
 * insert-if-absent followed by reading back whatever row won; every instance
 * then uses the same setup.
 */
export interface VaultSetup {
  readonly serverSetup: string;
  readonly decoyKey: Uint8Array;
}

const loaded = new WeakMap<Db, Promise<VaultSetup>>();

/** The setup for this database, created on first use and cached per process. */
export function vaultSetup(db: Db): Promise<VaultSetup> {
  let pending = loaded.get(db);
  if (!pending) {
    pending = loadOrCreate(db);
    loaded.set(db, pending);
    // A failed load (database briefly down) must not be cached forever.
    pending.catch(() => loaded.delete(db));
  }
  return pending;
}

async function loadOrCreate(db: Db): Promise<VaultSetup> {
  await opaque.ready;
  const existing = await read(db);
  if (existing) return existing;
  await db.run('INSERT INTO vault_setup (id, server_setup, decoy_key, created_at) VALUES (1, ?, ?, ?) ON CONFLICT DO NOTHING', [
    opaque.server.createSetup(),
    new Uint8Array(randomBytes(32)),
    nowMs(),
  ]);
  const stored = await read(db);
  if (!stored) throw new Error('the vault setup row is missing right after it was inserted');
  return stored;
}

async function read(db: Db): Promise<VaultSetup | undefined> {
  const row = await db.one<{ server_setup: string; decoy_key: Uint8Array }>('SELECT server_setup, decoy_key FROM vault_setup WHERE id = 1');
  return row && { serverSetup: row.server_setup, decoyKey: new Uint8Array(row.decoy_key) };
}

/** The decoy counter's name for a (normalized) username: a MAC, so the table does not list every name anyone probed. */
export function decoyName(setup: VaultSetup, username: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', setup.decoyKey).update(`coffer vault decoy\0${username}`).digest());
}
