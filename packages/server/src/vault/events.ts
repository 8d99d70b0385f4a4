import type { FastifyRequest } from 'fastify';
import { clientAddress, deviceOf } from '../context.ts';
import type { Queryable } from '../db/db.ts';
import { logSecurityEvent, type SecurityEventType } from '../security-log/security-log.ts';

/**
 * Appends a vault event to the account's security log, with the request's
 * device and address. Details are public facts only (attempts left, what
 * happened): never a password, record, share, export key or login id.
 */
export async function logVaultEvent(
  db: Queryable,
  request: FastifyRequest,
  accountId: string,
  type: SecurityEventType,
  detail: Record<string, string | number | boolean>,
): Promise<void> {
  await logSecurityEvent(db, { accountId, type, detail, device: deviceOf(request), clientAddress: clientAddress(request) });
}
