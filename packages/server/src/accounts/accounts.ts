import { randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';

export interface Account {
  readonly id: string;
  readonly username: string | null;
  /** The WebAuthn user handle: 32 random bytes, never derived from the username. */
  readonly userHandle: Uint8Array;
  readonly displayName: string;
  readonly createdAt: number;
}

interface AccountRow {
  id: string;
  username: string | null;
  user_handle: Uint8Array;
  display_name: string;
  created_at: number;
}

const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  username: r.username,
  userHandle: new Uint8Array(r.user_handle),
  displayName: r.display_name,
  createdAt: r.created_at,
});

/** Usernames are compared case-insensitively: stored folded, shown as typed in display_name. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

export async function createAccount(db: Queryable, input: { username?: string | undefined; displayName?: string | undefined }): Promise<Account> {
  const username = input.username === undefined ? null : normalizeUsername(input.username);
  if (username !== null && (username.length < 1 || username.length > 64)) apiError('E_BAD_REQUEST', 'A username has 1 to 64 characters.');
  const account: Account = {
    id: randomUUID(),
    username,
    userHandle: new Uint8Array(randomBytes(32)),
    displayName: input.displayName ?? input.username ?? 'Coffer user',
    createdAt: nowMs(),
  };
  const inserted = await db.run(
    'INSERT INTO accounts (id, username, user_handle, display_name, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    [account.id, account.username, account.userHandle, account.displayName, account.createdAt],
  );
  if (inserted !== 1) apiError('E_CONFLICT', 'That username is taken.');
  return account;
}

export async function accountById(db: Queryable, id: string): Promise<Account | undefined> {
  const row = await db.one<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
  return row && toAccount(row);
}

export async function accountByUsername(db: Queryable, username: string): Promise<Account | undefined> {
  const row = await db.one<AccountRow>('SELECT * FROM accounts WHERE username = ?', [normalizeUsername(username)]);
  return row && toAccount(row);
}

export async function accountByUserHandle(db: Queryable, userHandle: Uint8Array): Promise<Account | undefined> {
  const row = await db.one<AccountRow>('SELECT * FROM accounts WHERE user_handle = ?', [userHandle]);
  return row && toAccount(row);
}
