import { CofferError } from '@coffer/core';

/**
 * The vault area's own settings, from the environment like the rest of the
 * server's configuration (the guess limit itself is config.vaultMaxAttempts):
 *   COFFER_VAULT_ADDRESS_RATE_LIMIT   login requests per minute and client address; default 300
 *   COFFER_VAULT_USERNAME_RATE_LIMIT  login starts per minute and username, from any address; default 120
 *   COFFER_TEST_CRASH_AFTER_DECREMENT test-only fault injection, see below; unset in production
 *
 * The rate limits are a second line: they bound the CPU and log volume one
 * client or one victim name can cost. The guess limit is what stops password
 * guessing, so the defaults leave room for honest retries and for the test
 * that fires 100 logins at one name at once.
 */
export interface VaultSettings {
  readonly addressRateLimit: number;
  readonly usernameRateLimit: number;
  /**
   * When true (COFFER_TEST_CRASH_AFTER_DECREMENT=1), the process kills itself
   * with SIGKILL right after a login's guess was committed and before the
   * reply is sent: the crash tests use it to show a guess is never refunded.
   * Inert unless that variable is exactly "1"; the server logs a warning when armed.
   */
  readonly crashAfterDecrement: boolean;
}

export const DEFAULT_VAULT_SETTINGS: VaultSettings = { addressRateLimit: 300, usernameRateLimit: 120, crashAfterDecrement: false };

export function loadVaultSettings(env: Record<string, string | undefined> = process.env): VaultSettings {
  return {
    addressRateLimit: limit(env, 'COFFER_VAULT_ADDRESS_RATE_LIMIT', DEFAULT_VAULT_SETTINGS.addressRateLimit),
    usernameRateLimit: limit(env, 'COFFER_VAULT_USERNAME_RATE_LIMIT', DEFAULT_VAULT_SETTINGS.usernameRateLimit),
    crashAfterDecrement: env['COFFER_TEST_CRASH_AFTER_DECREMENT'] === '1',
  };
}

function limit(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new CofferError('E_INVALID_ARGUMENT', `${name} must be an integer from 1 to 1000000, not "${raw}"`);
  }
  return value;
}
