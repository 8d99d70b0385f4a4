import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { accountById, accountByUsername } from '../accounts/accounts.ts';
import { markSteppedUp, type SessionKind } from '../accounts/sessions.ts';
import { issuedSessionSchema, issueSession, requireSession, sessionKindSchema } from '../auth.ts';
import { nowMs } from '../db/db.ts';
import { apiError, errorBodySchema } from '../http-errors.ts';
import { assertionOptions, checkUserHandle, nothingMore, openAssertion, verifyAndRecord } from './assertion.ts';
import { decoyCredentialId } from './decoy-credentials.ts';
import { type PasskeyContext } from './passkey-context.ts';
import { authenticationResponseSchema, requestOptionsSchema, usernameSchema } from './schemas.ts';
import { listPasskeys } from './store.ts';
import { rejectResponse } from './verify.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * Sign-in (with a username, or username-less with a discoverable credential)
 * and step-up (a fresh user-verified assertion on the current session, which
 * sensitive operations require to be at most five minutes old).
 */

/** What a sign-in challenge remembers about the name the user typed. */
interface NamedSignIn {
  username: string;
}

const optionsResponse = { 200: { type: 'object', required: ['options'], properties: { options: requestOptionsSchema } }, '4xx': errorBodySchema } as const;

export function signInRoutes(app: FastifyInstance, ctx: PasskeyContext): void {
  const ceremonyLimit = { rateLimit: { max: ctx.settings.ceremonyRateLimit, timeWindow: '1 minute' } };

  app.post<{ Body: { username?: string } }>(
    '/passkeys/sign-in/options',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Start a passkey sign-in, for a named user or for any discoverable credential',
        tags: ['passkeys'],
        body: { type: 'object', additionalProperties: false, properties: { username: usernameSchema } },
        response: optionsResponse,
      },
    },
    async (request) => {
      const { username } = request.body;
      if (username === undefined) return { options: await assertionOptions(ctx, 'sign-in', {}, []) };
      const account = await accountByUsername(ctx.db, username);
      const passkeys = account ? await listPasskeys(ctx.db, account.id) : [];
      // An unknown name (or one without passkeys) gets a stable decoy id, so the answer does not tell.
      const allow = passkeys.length > 0 ? passkeys : [{ id: await decoyCredentialId(ctx.db, username) }];
      const pending: NamedSignIn = { username };
      return { options: await assertionOptions(ctx, 'sign-in', { accountId: account?.id, pending: JSON.stringify(pending) }, allow) };
    },
  );

  app.post<{ Body: { response: AuthenticationResponseJSON; sessionKind: SessionKind } }>(
    '/passkeys/sign-in/verify',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Finish a passkey sign-in and open a session (cookie or bearer token)',
        tags: ['passkeys'],
        body: {
          type: 'object',
          required: ['response'],
          additionalProperties: false,
          properties: { response: authenticationResponseSchema, sessionKind: sessionKindSchema },
        },
        response: {
          200: {
            type: 'object',
            required: ['accountId', 'passkeyId', 'session'],
            properties: { accountId: { type: 'string' }, passkeyId: { type: 'string' }, session: issuedSessionSchema },
          },
          '4xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { response, sessionKind } = request.body;
      const { stored, passkey } = await openAssertion(ctx, request, response, 'sign-in');
      if (!passkey) return rejectResponse(request.log, 'Unknown credential.');
      const account = (await accountById(ctx.db, passkey.accountId)) ?? rejectResponse(request.log, 'Unknown credential.');
      const named = stored.pending !== null;
      try {
        if (named && stored.accountId !== account.id) rejectResponse(request.log, 'This passkey belongs to another account than the one named.');
        checkUserHandle(request, response, account, !named);
        await verifyAndRecord(ctx, request, response, stored, passkey, nothingMore);
      } catch (error) {
        await logRequestEvent(ctx.db, request, account.id, 'sign-in-failed', { credentialId: passkey.id, method: 'passkey' });
        throw error;
      }
      const session = await issueSession(ctx, request, reply, { accountId: account.id, method: 'passkey', kind: sessionKind, steppedUp: true });
      await logRequestEvent(ctx.db, request, account.id, 'sign-in', { credentialId: passkey.id, sessionId: session.sessionId });
      return { accountId: account.id, passkeyId: passkey.id, session };
    },
  );

  app.post(
    '/passkeys/step-up/options',
    {
      schema: {
        summary: "Start a step-up: a fresh user-verified assertion by one of the account's passkeys",
        tags: ['passkeys'],
        security: [{ cookie: [] }, { bearer: [] }],
        response: optionsResponse,
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const passkeys = await listPasskeys(ctx.db, session.accountId);
      if (passkeys.length === 0) apiError('E_NOT_FOUND', 'This account has no passkey to step up with.');
      return { options: await assertionOptions(ctx, 'step-up', { accountId: session.accountId, sessionId: session.id }, passkeys) };
    },
  );

  app.post<{ Body: { response: AuthenticationResponseJSON } }>(
    '/passkeys/step-up/verify',
    {
      schema: {
        summary: 'Finish a step-up; sensitive operations are allowed for the next five minutes',
        tags: ['passkeys'],
        security: [{ cookie: [] }, { bearer: [] }],
        body: { type: 'object', required: ['response'], additionalProperties: false, properties: { response: authenticationResponseSchema } },
        response: { 200: { type: 'object', required: ['stepUpAt'], properties: { stepUpAt: { type: 'number' } } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const { response } = request.body;
      const { stored, passkey } = await openAssertion(ctx, request, response, 'step-up', { sessionId: session.id });
      if (!passkey) return rejectResponse(request.log, 'Unknown credential.');
      if (passkey.accountId !== session.accountId) apiError('E_FORBIDDEN', 'This passkey belongs to another account.');
      const account = (await accountById(ctx.db, session.accountId)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
      checkUserHandle(request, response, account, false);
      await verifyAndRecord(ctx, request, response, stored, passkey, async (tx) => {
        await markSteppedUp(tx, session.id, 'passkey');
        await logRequestEvent(tx, request, session.accountId, 'step-up', { credentialId: passkey.id, sessionId: session.id });
      });
      const row = await ctx.db.one<{ step_up_at: number }>('SELECT step_up_at FROM sessions WHERE id = ?', [session.id]);
      return { stepUpAt: row?.step_up_at ?? nowMs() };
    },
  );
}
