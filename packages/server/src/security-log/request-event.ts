import type { FastifyRequest } from 'fastify';
import { clientAddress, deviceOf } from '../context.ts';
import type { Queryable } from '../db/db.ts';
import { logSecurityEvent, type SecurityEventType } from './security-log.ts';

/**
 * Appends an event to the account's security log with the request's device
 * and client address. Details are public facts only (ids, attempts left, what
 * happened): never a password, share, export key, PRF output or token.
 */
export async function logRequestEvent(
  db: Queryable,
  request: FastifyRequest,
  accountId: string,
  type: SecurityEventType,
  detail: Record<string, string | number | boolean>,
): Promise<void> {
  await logSecurityEvent(db, { accountId, type, detail, device: deviceOf(request), clientAddress: clientAddress(request) });
}
