import type { Migration } from '../migrate.ts';
import { accounts } from './001-accounts.ts';

/**
 * Every migration, in order. Never edit one that has shipped; add a new one.
 * Numbers are reserved per area so parallel work does not collide:
 * 001 accounts, sessions, security log · 002 passkeys, challenges, shares ·
 * 003 vault, recovery-key sign-in.
 */
export const MIGRATIONS: readonly Migration[] = [accounts];
