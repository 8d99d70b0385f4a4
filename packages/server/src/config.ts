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
  /** Redis for state several instances must share (rate limits); in-process when absent. */
  readonly redisUrl: string | undefined;
  /** Key prefix in Redis, so several deployments can share one Redis. */
  readonly redisPrefix: string;
  readonly vaultMaxAttempts: number;
  /** Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; none by default. */
  readonly trustedProxies: readonly string[];
  readonly logLevel: string;
  /** Bearer-token and cookie session lifetime. */
  readonly sessionTtlMs: number;
  /** How old a user-verified assertion may be for a sensitive operation. */
  readonly stepUpMaxAgeMs: number;
  readonly challengeTtlMs: number;
  /** Where backup-store bodies live: a directory (default: `blobs` in the data directory)… */
  readonly blobDir: string;
  /** …or an S3-compatible bucket, `s3://bucket/prefix` (COFFER_BLOB_STORE), with an optional endpoint for non-AWS stores. */
  readonly blobStoreUrl: string | undefined;
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
  /** From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set; otherwise the SDK's own chain (profiles, instance roles). */
  readonly s3Credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  /** Per-account store quota, live and soft-deleted bodies together. */
  readonly storeQuotaBytes: number;
  /** Largest single object the store accepts. */
  readonly storeMaxObjectBytes: number;
  /** How long a deleted object stays restorable before the purge removes it. */
  readonly storeRetentionMs: number;
  /** Requests per minute per client address: the API in general, and the backup store. */
  readonly rateLimitPerMinute: number;
  readonly storeRateLimitPerMinute: number;
  /** How often the purge job runs (0: never, for tests that purge by hand). */
  readonly purgeIntervalMs: number;
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
  const dataDir = env['COFFER_DATA_DIR'] ?? join(env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'coffer-server');
  return {
    host,
    port,
    origin,
    rpId: env['COFFER_RP_ID'] ?? rpHost,
    rpName: env['COFFER_RP_NAME'] ?? 'Coffer',
    dataDir,
    databaseUrl: env['DATABASE_URL'] || undefined,
    redisUrl: env['REDIS_URL'] || undefined,
    redisPrefix: env['COFFER_REDIS_PREFIX'] ?? 'coffer:',
    vaultMaxAttempts: integer(env, 'COFFER_VAULT_MAX_ATTEMPTS', 10, 1, 100),
    trustedProxies: (env['COFFER_TRUSTED_PROXIES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    logLevel: env['LOG_LEVEL'] ?? 'info',
    sessionTtlMs: integer(env, 'COFFER_SESSION_TTL_HOURS', 24 * 30, 1, 24 * 365) * 3_600_000,
    stepUpMaxAgeMs: 5 * 60_000,
    challengeTtlMs: 5 * 60_000,
    blobDir: env['COFFER_BLOB_DIR'] ?? join(dataDir, 'blobs'),
    blobStoreUrl: env['COFFER_BLOB_STORE'] || undefined,
    s3Endpoint: env['COFFER_S3_ENDPOINT'] || env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'] || undefined,
    s3Region: env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || undefined,
    s3Credentials:
      env['AWS_ACCESS_KEY_ID'] && env['AWS_SECRET_ACCESS_KEY']
        ? {
            accessKeyId: env['AWS_ACCESS_KEY_ID'],
            secretAccessKey: env['AWS_SECRET_ACCESS_KEY'],
            ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}),
          }
        : undefined,
    storeQuotaBytes: integer(env, 'COFFER_STORE_QUOTA_MB', 100 * 1024, 1, 1024 ** 3) * 1024 * 1024,
    storeMaxObjectBytes: integer(env, 'COFFER_STORE_MAX_OBJECT_MB', 4096, 1, 1024 ** 2) * 1024 * 1024,
    storeRetentionMs: integer(env, 'COFFER_STORE_RETENTION_DAYS', 30, 0, 3650) * 86_400_000,
    rateLimitPerMinute: integer(env, 'COFFER_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    storeRateLimitPerMinute: integer(env, 'COFFER_STORE_RATE_LIMIT_PER_MINUTE', 30_000, 1, 10_000_000),
    purgeIntervalMs: integer(env, 'COFFER_PURGE_INTERVAL_MINUTES', 60, 0, 7 * 24 * 60) * 60_000,
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
