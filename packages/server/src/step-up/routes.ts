import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { accountById } from '../accounts/accounts.ts';
import { markSteppedUp } from '../accounts/sessions.ts';
import { requireSession } from '../auth.ts';
import { clientAddress, deviceOf } from '../context.ts';
import { apiError, errorBodySchema } from '../http-errors.ts';
import { assertionOptions, checkUserHandle, openAssertion, verifyAndRecord } from '../passkeys/assertion.ts';
import type { PasskeyContext } from '../passkeys/passkey-context.ts';
import { authenticationResponseSchema, requestOptionsSchema } from '../passkeys/schemas.ts';
import { listPasskeys } from '../passkeys/store.ts';
import { rejectResponse } from '../passkeys/verify.ts';
import { logSecurityEvent } from '../security-log/security-log.ts';
import { logRequestEvent } from '../security-log/request-event.ts';
import { confirmPagePath } from './page.ts';
import { createStepUpRequest, decideStepUpRequest, stepUpRequestById, type StepUpRequest } from './requests.ts';

/**
 * Step-up by confirmation in a browser (requests.ts). The requesting session
 * creates a request and polls it; anyone with the page's address may read it
 * and answer it, but only a fresh user-verified assertion by a passkey of the
 * same account approves it — which steps up the requesting session, not the
 * browser (the browser gets no session at all).
 */
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } } } as const;

const requestViewSchema = {
  type: 'object',
  required: ['id', 'code', 'action', 'status', 'device', 'clientAddress', 'createdAt', 'expiresAt', 'decidedAt', 'account'],
  properties: {
    id: { type: 'string' },
    code: { type: 'string' },
    action: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'approved', 'denied', 'cancelled', 'expired'] },
    device: { type: 'string' },
    clientAddress: { type: 'string' },
    createdAt: { type: 'number' },
    expiresAt: { type: 'number' },
    decidedAt: { type: ['number', 'null'] },
    account: { type: 'object', required: ['username', 'displayName'], properties: { username: { type: ['string', 'null'] }, displayName: { type: 'string' } } },
  },
} as const;

/** What the page and the polling device see: who asked, from where, for what, and the outcome. */
async function view(ctx: PasskeyContext, request: StepUpRequest) {
  const account = await accountById(ctx.db, request.accountId);
  return {
    id: request.id,
    code: request.code,
    action: request.action,
    status: request.status,
    device: request.device,
    clientAddress: request.clientAddress,
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    decidedAt: request.decidedAt,
    account: { username: account?.username ?? null, displayName: account?.displayName ?? '' },
  };
}

async function pendingRequest(ctx: PasskeyContext, id: string): Promise<StepUpRequest> {
  const request = (await stepUpRequestById(ctx.db, id)) ?? apiError('E_NOT_FOUND', 'There is no such confirmation request.');
  if (request.status !== 'pending') apiError('E_CONFLICT', `This request is ${request.status}; ask again from your device if you still need to.`);
  return request;
}

function alreadyDecided(): never {
  return apiError('E_CONFLICT', 'This request was decided or expired meanwhile.');
}

export function stepUpRequestRoutes(app: FastifyInstance, ctx: PasskeyContext): void {
  const ceremonyLimit = { rateLimit: { max: ctx.settings.ceremonyRateLimit, timeWindow: '1 minute' } };

  app.post<{ Body: { action?: string } | undefined }>(
    '/step-up-requests',
    {
      schema: {
        summary: 'Ask for a step-up to be confirmed with a passkey in a browser; poll the request until it is approved',
        tags: ['step-up'],
        security: [{ cookie: [] }, { bearer: [] }],
        body: { type: 'object', additionalProperties: false, properties: { action: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: {
          201: {
            type: 'object',
            required: ['id', 'code', 'url', 'expiresAt'],
            properties: { id: { type: 'string' }, code: { type: 'string' }, url: { type: 'string' }, expiresAt: { type: 'number' } },
          },
          '4xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(ctx, request);
      const passkeys = await listPasskeys(ctx.db, session.accountId);
      if (passkeys.length === 0) apiError('E_NOT_FOUND', 'This account has no passkey to confirm with.');
      // Control characters would let the asking device lay out the page's text as it likes.
      const action = (request.body?.action ?? 'a sensitive operation').replace(/\p{Cc}/gu, ' ');
      const created = await ctx.db.transaction(async (tx) => {
        const row = await createStepUpRequest(tx, { accountId: session.accountId, sessionId: session.id, action, device: deviceOf(request), clientAddress: clientAddress(request) });
        await logRequestEvent(tx, request, session.accountId, 'step-up-requested', { requestId: row.id, sessionId: session.id });
        return row;
      });
      return reply.status(201).send({ id: created.id, code: created.code, url: `${ctx.config.origin}${confirmPagePath(created.id)}`, expiresAt: created.expiresAt });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/step-up-requests/:id',
    {
      schema: {
        summary: 'A step-up request as the confirmation page shows it, with its status (the requesting device polls this)',
        tags: ['step-up'],
        params: idParams,
        response: { 200: requestViewSchema, '4xx': errorBodySchema },
      },
    },
    async (request) => view(ctx, (await stepUpRequestById(ctx.db, request.params.id)) ?? apiError('E_NOT_FOUND', 'There is no such confirmation request.')),
  );

  app.post<{ Params: { id: string } }>(
    '/step-up-requests/:id/options',
    {
      config: ceremonyLimit,
      schema: {
        summary: "Start confirming a step-up request: an assertion by one of the account's passkeys",
        tags: ['step-up'],
        params: idParams,
        response: { 200: { type: 'object', required: ['options'], properties: { options: requestOptionsSchema } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const pending = await pendingRequest(ctx, request.params.id);
      const passkeys = await listPasskeys(ctx.db, pending.accountId);
      return { options: await assertionOptions(ctx, 'step-up-confirm', { accountId: pending.accountId, pending: pending.id }, passkeys) };
    },
  );

  app.post<{ Params: { id: string }; Body: { response: AuthenticationResponseJSON } }>(
    '/step-up-requests/:id/approve',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Approve a step-up request with a fresh user-verified assertion; the requesting session is stepped up',
        tags: ['step-up'],
        params: idParams,
        body: { type: 'object', required: ['response'], additionalProperties: false, properties: { response: authenticationResponseSchema } },
        response: { 200: requestViewSchema, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const pending = await pendingRequest(ctx, request.params.id);
      const { response } = request.body;
      const { passkey, stored } = await openAssertion(ctx, request, response, 'step-up-confirm', { pending: pending.id });
      if (!passkey) return rejectResponse(request.log, 'Unknown credential.');
      if (passkey.accountId !== pending.accountId) apiError('E_FORBIDDEN', 'This passkey belongs to another account than the request.');
      const account = (await accountById(ctx.db, pending.accountId)) ?? apiError('E_NOT_FOUND', 'There is no such confirmation request.');
      checkUserHandle(request, response, account, false);
      const approved = await verifyAndRecord(ctx, request, response, stored, passkey, async (tx) => {
        const decided = (await decideStepUpRequest(tx, pending.id, 'approved', passkey.id)) ?? alreadyDecided();
        await markSteppedUp(tx, decided.sessionId, 'passkey');
        await logRequestEvent(tx, request, decided.accountId, 'step-up', { credentialId: passkey.id, sessionId: decided.sessionId, requestId: decided.id, via: 'confirmation-page' });
        return decided;
      });
      return view(ctx, approved);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/step-up-requests/:id',
    {
      schema: {
        summary: 'Withdraw a pending step-up request (the asking device stopped waiting)',
        tags: ['step-up'],
        security: [{ cookie: [] }, { bearer: [] }],
        params: idParams,
        response: { 200: requestViewSchema, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const pending = await pendingRequest(ctx, request.params.id);
      // Only the session that asked may withdraw: anyone else with the address can only decline.
      if (pending.sessionId !== session.id) apiError('E_FORBIDDEN', 'Only the session that asked can withdraw this request.');
      return view(ctx, (await decideStepUpRequest(ctx.db, pending.id, 'cancelled', null)) ?? alreadyDecided());
    },
  );

  app.post<{ Params: { id: string } }>(
    '/step-up-requests/:id/deny',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Decline a step-up request ("this was not me"); the requesting device stops waiting',
        tags: ['step-up'],
        params: idParams,
        response: { 200: requestViewSchema, '4xx': errorBodySchema },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      await pendingRequest(ctx, request.params.id);
      // Declining needs no proof: it can only stop a request, and whoever can read the page may.
      const denied = await ctx.db.transaction(async (tx) => {
        const decided = (await decideStepUpRequest(tx, request.params.id, 'denied', null)) ?? alreadyDecided();
        await logSecurityEvent(tx, {
          accountId: decided.accountId,
          type: 'step-up-denied',
          detail: { requestId: decided.id, sessionId: decided.sessionId, requestedBy: decided.device, requestedFrom: decided.clientAddress },
          device: deviceOf(request),
          clientAddress: clientAddress(request),
        });
        return decided;
      });
      return view(ctx, denied);
    },
  );
}
