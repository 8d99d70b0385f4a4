/**
 * Sessions with Coffer servers (`coffer:` repositories), kept per server origin
 * in $COFFER_CONFIG_DIR/logins.json (default $XDG_CONFIG_HOME/coffer, else
 * ~/.config/coffer), created with mode 0600 and replaced atomically. A token is
 * a revocable bearer session, never a key: with it someone can add to the
 * account's backup store, never read a backup or delete one (deletes need a
 * step-up with an unlock method).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';
import type { CofferApi } from '@coffer/client';
import { CofferError } from '@coffer/core';
import { loadClient } from './client.ts';
import type { Env } from './io.ts';

export interface StoredLogin {
  readonly token: string;
  readonly accountId: string;
  readonly username: string | null;
  readonly method: 'password' | 'recovery-key';
  readonly expiresAt: number;
}

export function configDirectory(env: Env): string {
  if (env.COFFER_CONFIG_DIR) return resolve(env.COFFER_CONFIG_DIR);
  if (env.XDG_CONFIG_HOME) return join(resolve(env.XDG_CONFIG_HOME), 'coffer');
  return join(env.HOME ?? homedir(), '.config', 'coffer');
}

const file = (env: Env): string => join(configDirectory(env), 'logins.json');

async function readAll(env: Env): Promise<Record<string, StoredLogin>> {
  try {
    return JSON.parse(await readFile(file(env), 'utf8')) as Record<string, StoredLogin>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CofferError('E_FORMAT', `${file(env)} is not readable JSON; delete it and run \`coffer login\` again`, { cause: error });
  }
}

async function writeAll(env: Env, logins: Record<string, StoredLogin>): Promise<void> {
  await mkdir(configDirectory(env), { recursive: true, mode: 0o700 });
  const temp = `${file(env)}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(logins, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temp, file(env));
}

export async function readLogin(env: Env, origin: string): Promise<StoredLogin | undefined> {
  const login = (await readAll(env))[origin];
  return login !== undefined && login.expiresAt > Date.now() ? login : undefined;
}

export async function saveLogin(env: Env, origin: string, login: StoredLogin): Promise<void> {
  await writeAll(env, { ...(await readAll(env)), [origin]: login });
}

export async function forgetLogin(env: Env, origin: string): Promise<boolean> {
  const all = await readAll(env);
  if (!(origin in all)) return false;
  const rest = Object.fromEntries(Object.entries(all).filter(([key]) => key !== origin));
  if (Object.keys(rest).length === 0) await rm(file(env), { force: true });
  else await writeAll(env, rest);
  return true;
}

/** `coffer:https://host[:port]` → `https://host[:port]`. */
export function serverOrigin(spec: string): string {
  const text = spec.slice('coffer:'.length);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CofferError('E_INVALID_ARGUMENT', 'a Coffer server repository is coffer:https://host[:port]');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new CofferError('E_INVALID_ARGUMENT', 'a Coffer server repository is coffer:https://host[:port], without credentials or a path (sign in with `coffer login`)');
  }
  return url.origin;
}

export const CLI_DEVICE = `coffer CLI on ${platform()}`;

/** An SDK client for the server, with the stored session when there is one. */
export async function serverApi(origin: string, token?: string): Promise<CofferApi> {
  const { CofferApi } = await loadClient();
  return new CofferApi({ baseUrl: origin, token, device: CLI_DEVICE, sessionKind: 'bearer' });
}

/** The stored session for `origin`, or a clear error saying how to get one. */
export async function requireLogin(env: Env, origin: string): Promise<StoredLogin> {
  const login = await readLogin(env, origin);
  if (login === undefined) throw new CofferError('E_UNAUTHENTICATED', `not signed in to ${origin}: run \`coffer login -r coffer:${origin}\``);
  return login;
}
