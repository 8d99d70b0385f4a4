import type { Migration } from '../migrate.ts';
import { accounts } from './001-accounts.ts';
import { passkeys } from './002-passkeys.ts';
import { vault } from './003-vault.ts';
import { store } from './004-store.ts';
import { storeUsage } from './005-store-usage.ts';
import { stepUpRequests } from './006-step-up-requests.ts';

/**
 * Every migration, in order. Never edit one that has shipped; add a new one.
 * Numbers are reserved per area so parallel work does not collide:
 * 001 accounts, sessions, security log · 002 passkeys, challenges, shares ·
 * 003 vault, recovery-key sign-in · 004, 005 backup store · 006 step-up requests.
 */
export const MIGRATIONS: readonly Migration[] = [accounts, passkeys, vault, store, storeUsage, stepUpRequests];
