import type { FastifyInstance } from 'fastify';
import { accountById } from '../accounts/accounts.ts';
import { listSessions, revokeSession } from '../accounts/sessions.ts';
import { requireSession, SESSION_COOKIE } from '../auth.ts';
import { clientAddress, deviceOf, type AppContext } from '../context.ts';
import { apiError } from '../http-errors.ts';
import { logSecurityEvent, readSecurityLog } from '../security-log/security-log.ts';

const sessionSchema = {
  type: 'object',
  required: ['id', 'kind', 'method', 'device', 'clientAddress', 'createdAt', 'lastSeenAt', 'expiresAt', 'current'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    method: { type: 'string' },
    device: { type: 'string' },
    clientAddress: { type: 'string' },
    createdAt: { type: 'number' },
    lastSeenAt: { type: 'number' },
    expiresAt: { type: 'number' },
    stepUpAt: { type: ['number', 'null'] },
    current: { type: 'boolean' },
  },
} as const;

/** The signed-in account, its sessions (list, revoke, sign out) and its security log. */
export function sessionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/session',
    {
      schema: {
        summary: 'The signed-in account and this session',
        response: {
          200: {
            type: 'object',
            required: ['accountId', 'displayName', 'sessionId', 'method'],
            properties: {
              accountId: { type: 'string' },
              username: { type: ['string', 'null'] },
              displayName: { type: 'string' },
              sessionId: { type: 'string' },
              method: { type: 'string' },
              stepUpAt: { type: ['number', 'null'] },
            },
          },
        },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const account = (await accountById(ctx.db, session.accountId)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
      return {
        accountId: account.id,
        username: account.username,
        displayName: account.displayName,
        sessionId: session.id,
        method: session.method,
        stepUpAt: session.stepUpAt,
      };
    },
  );

  app.delete('/session', { schema: { summary: 'Sign out: revoke this session' } }, async (request, reply) => {
    const session = await requireSession(ctx, request);
    await revokeSession(ctx.db, session.accountId, session.id);
    await logSecurityEvent(ctx.db, {
      accountId: session.accountId,
      type: 'session-revoked',
      detail: { sessionId: session.id, signOut: true },
      device: deviceOf(request),
      clientAddress: clientAddress(request),
    });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get(
    '/sessions',
    { schema: { summary: "The account's live sessions", response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: sessionSchema } } } } } },
    async (request) => {
      const session = await requireSession(ctx, request);
      const sessions = await listSessions(ctx.db, session.accountId);
      return { sessions: sessions.map((s) => ({ ...s, current: s.id === session.id })) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/sessions/:id',
    { schema: { summary: 'Revoke a session (a lost device, a leaked token)', params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (request, reply) => {
      const session = await requireSession(ctx, request);
      if (!(await revokeSession(ctx.db, session.accountId, request.params.id))) apiError('E_NOT_FOUND', 'No live session with that id.');
      await logSecurityEvent(ctx.db, {
        accountId: session.accountId,
        type: 'session-revoked',
        detail: { sessionId: request.params.id },
        device: deviceOf(request),
        clientAddress: clientAddress(request),
      });
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: { limit: number; before?: number } }>(
    '/security-log',
    {
      schema: {
        summary: "The account's security log, newest first",
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, before: { type: 'integer', minimum: 1 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              events: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'number' },
                    type: { type: 'string' },
                    detail: { type: 'object', additionalProperties: true },
                    device: { type: 'string' },
                    clientAddress: { type: 'string' },
                    flags: { type: 'array', items: { type: 'string' } },
                    createdAt: { type: 'number' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      return { events: await readSecurityLog(ctx.db, session.accountId, { limit: request.query.limit, before: request.query.before }) };
    },
  );
}
