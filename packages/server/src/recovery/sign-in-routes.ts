import type { RecoverySignInPurpose } from '@coffer/core';
import type { FastifyInstance } from 'fastify';
import { accountById, createAccount, normalizeUsername } from '../accounts/accounts.ts';
import type { SessionKind } from '../accounts/sessions.ts';
import { issueSession, requireSession, stepUp } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';
import { needsSession, issueRecoveryChallenge } from './challenges.ts';
import { checkProof, type RecoveryProof } from './proof.ts';
import { challengeSchema, createAccountSchema, signInSchema, stepUpSchema } from './schemas.ts';
import { addRecoveryKey, recoveryKeyByPublicKey, recoveryKeyInfo, touchRecoveryKey } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/** Public ceremonies are cheap to verify but write rows (challenges, accounts): a per-address limit on them. */
const ceremonyLimit = { rateLimit: { max: 120, timeWindow: '1 minute' } };
const NOT_ACCEPTED = 'The recovery key was not accepted.';

/**
 * Recovery-key ceremonies: a challenge, then a signature over it (format.md
 * §7.6) that signs in, creates an account, or steps up the current session.
 * A recovery-key sign-in opens a session and counts as a step-up; it never
 * releases the vault share (only a verified password login does).
 */
export function recoverySignInRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: { purpose: RecoverySignInPurpose } }>('/recovery-keys/challenges', { schema: challengeSchema, config: ceremonyLimit }, async (request) => {
    const { purpose } = request.body;
    const session = needsSession(purpose) ? await requireSession(ctx, request) : undefined;
    return issueRecoveryChallenge(ctx.db, purpose, session?.id, ctx.config.challengeTtlMs);
  });

  app.post<{ Body: RecoveryProof & { username?: string; sessionKind: SessionKind } }>(
    '/recovery-keys/sign-in',
    { schema: signInSchema, config: ceremonyLimit },
    async (request, reply) => {
      const { publicKey, verified } = await checkProof(ctx, request.body, 'sign-in');
      const key = await recoveryKeyByPublicKey(ctx.db, publicKey);
      if (!key) apiError('E_UNAUTHENTICATED', NOT_ACCEPTED);
      const account = await accountById(ctx.db, key.accountId);
      const named = request.body.username;
      if (!verified || !account || (named !== undefined && account.username !== normalizeUsername(named))) {
        await logRequestEvent(ctx.db, request, key.accountId, 'sign-in-failed', { method: 'recovery-key', recoveryKeyId: key.id });
        apiError('E_UNAUTHENTICATED', NOT_ACCEPTED);
      }
      await touchRecoveryKey(ctx.db, key.id);
      const session = await issueSession(ctx, request, reply, { accountId: key.accountId, method: 'recovery-key', kind: request.body.sessionKind, steppedUp: true });
      await logRequestEvent(ctx.db, request, key.accountId, 'sign-in', { method: 'recovery-key', recoveryKeyId: key.id, sessionId: session.sessionId });
      return { accountId: key.accountId, recoveryKeyId: key.id, session };
    },
  );

  app.post<{ Body: RecoveryProof & { username?: string; displayName?: string; label?: string; sessionKind: SessionKind } }>(
    '/recovery-keys/accounts',
    { schema: createAccountSchema, config: ceremonyLimit },
    async (request, reply) => {
      const { publicKey, verified } = await checkProof(ctx, request.body, 'create-account');
      if (!verified) apiError('E_FORBIDDEN', 'The signature does not prove possession of this recovery key.');
      const { username, displayName, label = 'Recovery key' } = request.body;
      const created = await ctx.db.transaction(async (tx) => {
        const account = await createAccount(tx, { username, displayName });
        const key = (await addRecoveryKey(tx, account.id, publicKey, label)) ?? apiError('E_CONFLICT', 'This recovery key already belongs to an account.');
        await logRequestEvent(tx, request, account.id, 'account-created', { method: 'recovery-key' });
        await logRequestEvent(tx, request, account.id, 'recovery-key-added', { recoveryKeyId: key.id });
        return { account, key };
      });
      const session = await issueSession(ctx, request, reply, { accountId: created.account.id, method: 'recovery-key', kind: request.body.sessionKind, steppedUp: true });
      await logRequestEvent(ctx.db, request, created.account.id, 'sign-in', { method: 'recovery-key', recoveryKeyId: created.key.id, sessionId: session.sessionId });
      return reply.status(201).send({ accountId: created.account.id, recoveryKey: recoveryKeyInfo(created.key), session });
    },
  );

  app.post<{ Body: RecoveryProof }>('/recovery-keys/step-up', { schema: stepUpSchema }, async (request) => {
    const session = await requireSession(ctx, request);
    const { publicKey, verified } = await checkProof(ctx, request.body, 'step-up', session.id);
    const key = await recoveryKeyByPublicKey(ctx.db, publicKey);
    if (!verified || key?.accountId !== session.accountId) {
      if (key?.accountId === session.accountId) await logRequestEvent(ctx.db, request, session.accountId, 'sign-in-failed', { method: 'recovery-key', stepUp: true });
      apiError('E_FORBIDDEN', 'The recovery key was not accepted for this account.');
    }
    await touchRecoveryKey(ctx.db, key.id);
    await stepUp(ctx, session, 'recovery-key');
    await logRequestEvent(ctx.db, request, session.accountId, 'step-up', { method: 'recovery-key', recoveryKeyId: key.id, sessionId: session.id });
    const row = await ctx.db.one<{ step_up_at: number }>('SELECT step_up_at FROM sessions WHERE id = ?', [session.id]);
    return { stepUpAt: row?.step_up_at ?? nowMs() };
  });
}
