import type { FastifyRequest } from 'fastify';
import { clientAddress, deviceOf } from '../context.ts';
import type { Queryable } from '../db/db.ts';
import { logSecurityEvent, type SecurityEventType } from '../security-log/security-log.ts';

/** Appends a recovery-key event to the account's security log (key ids and session ids only, never key material). */
export async function logRecoveryEvent(
  db: Queryable,
  request: FastifyRequest,
  accountId: string,
  type: SecurityEventType,
  detail: Record<string, string | number | boolean>,
): Promise<void> {
  await logSecurityEvent(db, { accountId, type, detail, device: deviceOf(request), clientAddress: clientAddress(request) });
}
