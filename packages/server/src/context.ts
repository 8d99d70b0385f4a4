import type { FastifyRequest } from 'fastify';
import type { ServerConfig } from './config.ts';
import type { Db } from './db/db.ts';

/** What every route module receives: the configuration and the database. */
export interface AppContext {
  readonly config: ServerConfig;
  readonly db: Db;
}

/** The client's address as Fastify resolved it (X-Forwarded-For is believed only from trusted proxies). */
export function clientAddress(request: FastifyRequest): string {
  return request.ip;
}

/**
 * A short description of the device for the security log: the SDK's
 * `X-Coffer-Device` header when present, else the User-Agent. Truncated, and
 * only printable characters kept, so a hostile header cannot forge log lines.
 */
export function deviceOf(request: FastifyRequest): string {
  const raw = request.headers['x-coffer-device'] ?? request.headers['user-agent'] ?? 'unknown';
  const text = (Array.isArray(raw) ? raw.join(' ') : raw).replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return text === '' ? 'unknown' : text;
}
