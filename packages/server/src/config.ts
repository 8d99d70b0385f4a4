import { homedir } from 'node:os';
import { join } from 'node:path';
import { CofferError } from '@coffer/core';

/** Everything the server reads from its environment, with safe defaults: `npm start` needs none of it. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** The origin browsers use (WebAuthn checks it); defaults to http://localhost:PORT. */
  readonly origin: string;
  /** The WebAuthn relying-party id; defaults to the origin's host name. */
  readonly rpId: string;
  readonly rpName: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly vaultMaxAttempts: number;
  /** Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; none by default. */
  readonly trustedProxies: readonly string[];
  readonly logLevel: string;
  /** Bearer-token and cookie session lifetime. */
  readonly sessionTtlMs: number;
  /** How old a user-verified assertion may be for a sensitive operation. */
  readonly stepUpMaxAgeMs: number;
  readonly challengeTtlMs: number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const port = integer(env, 'PORT', 8787, 0, 65535);
  const host = env['HOST'] ?? '127.0.0.1';
  const origin = (env['COFFER_ORIGIN'] ?? `http://localhost:${String(port)}`).replace(/\/+$/, '');
  let rpHost: string;
  try {
    rpHost = new URL(origin).hostname;
  } catch {
    throw new CofferError('E_INVALID_ARGUMENT', `COFFER_ORIGIN is not a URL: ${origin}`);
  }
  return {
    host,
    port,
    origin,
    rpId: env['COFFER_RP_ID'] ?? rpHost,
    rpName: env['COFFER_RP_NAME'] ?? 'Coffer',
    dataDir: env['COFFER_DATA_DIR'] ?? join(env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'coffer-server'),
    databaseUrl: env['DATABASE_URL'] || undefined,
    vaultMaxAttempts: integer(env, 'COFFER_VAULT_MAX_ATTEMPTS', 10, 1, 100),
    trustedProxies: (env['COFFER_TRUSTED_PROXIES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    logLevel: env['LOG_LEVEL'] ?? 'info',
    sessionTtlMs: integer(env, 'COFFER_SESSION_TTL_HOURS', 24 * 30, 1, 24 * 365) * 3_600_000,
    stepUpMaxAgeMs: 5 * 60_000,
    challengeTtlMs: 5 * 60_000,
  };
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CofferError('E_INVALID_ARGUMENT', `${name} must be an integer from ${String(min)} to ${String(max)}, not "${raw}"`);
  }
  return value;
}
