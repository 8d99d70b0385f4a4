import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { accountById } from '../accounts/accounts.ts';
import type { Session } from '../accounts/sessions.ts';
import { requireSession, requireStepUp } from '../auth.ts';
import { apiError, errorBodySchema } from '../http-errors.ts';
import { assertionOptions, checkUserHandle, openAssertion, verifyAndRecord } from './assertion.ts';
import type { ChallengePurpose, StoredChallenge } from './challenges.ts';
import { type PasskeyContext } from './passkey-context.ts';
import { authenticationResponseSchema, credentialIdSchema, releasedShareSchema, requestOptionsSchema, shareInfoSchema, slotIdSchema } from './schemas.ts';
import { createShare, deleteShare, listShares, shareInfo, takeShareForRelease } from './shares.ts';
import { passkeyById, type Passkey } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * Server shares of hybrid passkey slots. A share is created, and later
 * released, only in the answer to a fresh user-verified assertion by the one
 * credential the slot is bound to, over a challenge issued for that slot and
 * this session. The PRF output the client combines it with never comes here.
 */
type Params = { slotId: string };

const security = [{ cookie: [] }, { bearer: [] }];
const slotParams = { type: 'object', required: ['slotId'], properties: { slotId: slotIdSchema } } as const;
const optionsResponse = {
  200: { type: 'object', required: ['options', 'credentialId'], properties: { options: requestOptionsSchema, credentialId: { type: 'string' } } },
  '4xx': errorBodySchema,
} as const;
const verifyBody = { type: 'object', required: ['response'], additionalProperties: false, properties: { response: authenticationResponseSchema } } as const;
const releasedResponse = { 200: releasedShareSchema, '4xx': errorBodySchema } as const;

export function shareRoutes(app: FastifyInstance, ctx: PasskeyContext): void {
  app.get(
    '/passkeys/shares',
    {
      schema: {
        summary: "The account's hybrid-slot shares (metadata only, never the share)",
        tags: ['passkeys'],
        security,
        response: { 200: { type: 'object', required: ['shares'], properties: { shares: { type: 'array', items: shareInfoSchema } } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      return { shares: await listShares(ctx.db, session.accountId) };
    },
  );

  app.post<{ Params: Params; Body: { credentialId: string } }>(
    '/passkeys/shares/:slotId/create/options',
    {
      schema: {
        summary: 'Start creating the share of a hybrid slot bound to one of your passkeys',
        tags: ['passkeys'],
        security,
        params: slotParams,
        body: { type: 'object', required: ['credentialId'], additionalProperties: false, properties: { credentialId: credentialIdSchema } },
        response: optionsResponse,
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const { slotId } = request.params;
      const passkey = await passkeyById(ctx.db, request.body.credentialId);
      if (!passkey || passkey.accountId !== session.accountId) apiError('E_NOT_FOUND', 'No passkey with that id on this account.');
      if (await shareInfo(ctx.db, session.accountId, slotId)) apiError('E_CONFLICT', 'That slot already has a share.');
      const options = await assertionOptions(ctx, 'share-create', { accountId: session.accountId, sessionId: session.id, slotId, credentialId: passkey.id }, [passkey]);
      return { options, credentialId: passkey.id };
    },
  );

  app.post<{ Params: Params; Body: { response: AuthenticationResponseJSON } }>(
    '/passkeys/shares/:slotId/create/verify',
    { schema: { summary: 'Finish creating a share: returns it, once, in this response', tags: ['passkeys'], security, params: slotParams, body: verifyBody, response: releasedResponse } },
    async (request) => {
      const { session, stored, passkey } = await openShareCeremony(ctx, request, 'share-create');
      const { slotId } = request.params;
      const passkeyId = passkey.id;
      const share = await verifyAndRecord(ctx, request, request.body.response, stored, passkey, async (tx) => {
        const created = (await createShare(tx, { accountId: session.accountId, slotId, credentialId: passkeyId })) ?? apiError('E_CONFLICT', 'That slot already has a share.');
        await logRequestEvent(tx, request, session.accountId, 'share-released', { slotId, credentialId: passkeyId, created: true });
        return created;
      });
      return { slotId, credentialId: passkeyId, share: Buffer.from(share).toString('base64url') };
    },
  );

  app.post<{ Params: Params }>(
    '/passkeys/shares/:slotId/release/options',
    { schema: { summary: "Start releasing a slot's share: an assertion by the slot's passkey", tags: ['passkeys'], security, params: slotParams, response: optionsResponse } },
    async (request) => {
      const session = await requireSession(ctx, request);
      const { slotId } = request.params;
      const info = (await shareInfo(ctx.db, session.accountId, slotId)) ?? apiError('E_NOT_FOUND', 'No share for that slot (never created, or deleted).');
      const passkey = (await passkeyById(ctx.db, info.credentialId)) ?? apiError('E_NOT_FOUND', "The slot's passkey was removed.");
      const options = await assertionOptions(ctx, 'share-release', { accountId: session.accountId, sessionId: session.id, slotId, credentialId: passkey.id }, [passkey]);
      return { options, credentialId: passkey.id };
    },
  );

  app.post<{ Params: Params; Body: { response: AuthenticationResponseJSON } }>(
    '/passkeys/shares/:slotId/release/verify',
    { schema: { summary: "Finish releasing a slot's share: returns it in this response", tags: ['passkeys'], security, params: slotParams, body: verifyBody, response: releasedResponse } },
    async (request) => {
      const { session, stored, passkey } = await openShareCeremony(ctx, request, 'share-release');
      const { slotId } = request.params;
      const passkeyId = passkey.id;
      const share = await verifyAndRecord(ctx, request, request.body.response, stored, passkey, async (tx) => {
        const released = (await takeShareForRelease(tx, session.accountId, slotId, passkeyId)) ?? apiError('E_NOT_FOUND', 'No share for that slot and passkey.');
        await logRequestEvent(tx, request, session.accountId, 'share-released', { slotId, credentialId: passkeyId });
        return released;
      });
      return { slotId, credentialId: passkeyId, share: Buffer.from(share).toString('base64url') };
    },
  );

  app.delete<{ Params: Params }>(
    '/passkeys/shares/:slotId',
    {
      schema: {
        summary: "Delete a slot's share, revoking the slot for good (needs a fresh step-up)",
        tags: ['passkeys'],
        security,
        params: slotParams,
        response: { 204: { type: 'null' }, '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const session = await requireStepUp(ctx, request);
      await ctx.db.transaction(async (tx) => {
        if (!(await deleteShare(tx, session.accountId, request.params.slotId))) apiError('E_NOT_FOUND', 'No share for that slot.');
        // Revoking a slot changes who can unlock the backup: it belongs in the log like adding one.
        await logRequestEvent(tx, request, session.accountId, 'share-deleted', { slotId: request.params.slotId, sessionId: session.id });
      });
      return reply.status(204).send();
    },
  );
}

/**
 * The checks before verification: the challenge was issued for this purpose,
 * session and slot; the response comes from the credential the challenge was
 * issued for (another credential, even of the same account, is refused).
 */
async function openShareCeremony(
  ctx: PasskeyContext,
  request: FastifyRequest<{ Params: Params; Body: { response: AuthenticationResponseJSON } }>,
  purpose: ChallengePurpose,
): Promise<{ session: Session; stored: StoredChallenge; passkey: Passkey }> {
  const session = await requireSession(ctx, request);
  const { response } = request.body;
  const { stored, passkey } = await openAssertion(ctx, request, response, purpose, { sessionId: session.id, slotId: request.params.slotId });
  if (stored.credentialId !== response.id) apiError('E_FORBIDDEN', "Only the slot's own passkey can take part in this ceremony.");
  if (!passkey) return apiError('E_NOT_FOUND', "The slot's passkey was removed.");
  if (passkey.accountId !== session.accountId) apiError('E_FORBIDDEN', 'This passkey belongs to another account.');
  const account = (await accountById(ctx.db, session.accountId)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
  checkUserHandle(request, response, account, false);
  return { session, stored, passkey };
}
