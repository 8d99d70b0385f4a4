import { CofferError } from '@coffer/core';
import { loadProviderFile, providerNames, type ProviderNames } from './providers.ts';

/**
 * The passkey area's own settings, from the environment like the rest of the
 * server's configuration (config.ts belongs to the shared skeleton):
 *   COFFER_CEREMONY_RATE_LIMIT  requests per minute and client address on each
 *                               public ceremony route (register, sign-in); default 30
 *   COFFER_AAGUID_FILE          extra AAGUID → provider names (see providers.ts)
 */
export interface PasskeySettings {
  readonly ceremonyRateLimit: number;
  readonly providers: ProviderNames;
}

export const DEFAULT_CEREMONY_RATE_LIMIT = 30;

export function loadPasskeySettings(env: Record<string, string | undefined> = process.env): PasskeySettings {
  const raw = env['COFFER_CEREMONY_RATE_LIMIT'];
  const limit = raw === undefined || raw === '' ? DEFAULT_CEREMONY_RATE_LIMIT : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
    throw new CofferError('E_INVALID_ARGUMENT', `COFFER_CEREMONY_RATE_LIMIT must be an integer from 1 to 1000000, not "${String(raw)}"`);
  }
  const file = env['COFFER_AAGUID_FILE'];
  return { ceremonyRateLimit: limit, providers: providerNames(file ? loadProviderFile(file) : {}) };
}
