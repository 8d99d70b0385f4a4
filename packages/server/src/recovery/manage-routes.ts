import type { FastifyInstance } from 'fastify';
import { countUnlockMethods, lockAccountForUnlockChange } from '../accounts/unlock-methods.ts';
import { requireSession, requireStepUp } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { apiError } from '../http-errors.ts';
import { checkProof, type RecoveryProof } from './proof.ts';
import { listSchema, registerSchema, removeSchema } from './schemas.ts';
import { addRecoveryKey, deleteRecoveryKey, listRecoveryKeys, recoveryKeyById, recoveryKeyInfo } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/** The signed-in account's recovery keys: add (fresh step-up + the key's own signature), list, remove (never the last unlock method). */
export function recoveryManageRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/recovery-keys', { schema: listSchema }, async (request) => {
    const session = await requireSession(ctx, request);
    return { recoveryKeys: (await listRecoveryKeys(ctx.db, session.accountId)).map(recoveryKeyInfo) };
  });

  app.post<{ Body: RecoveryProof & { label?: string } }>('/recovery-keys', { schema: registerSchema }, async (request, reply) => {
    const session = await requireStepUp(ctx, request);
    const { publicKey, verified } = await checkProof(ctx, request.body, 'register', session.id);
    if (!verified) apiError('E_FORBIDDEN', 'The signature does not prove possession of this recovery key.');
    const key = await ctx.db.transaction(async (tx) => {
      const added = (await addRecoveryKey(tx, session.accountId, publicKey, request.body.label ?? 'Recovery key')) ?? apiError('E_CONFLICT', 'This recovery key is already registered.');
      await logRequestEvent(tx, request, session.accountId, 'recovery-key-added', { recoveryKeyId: added.id });
      return added;
    });
    return reply.status(201).send({ recoveryKey: recoveryKeyInfo(key) });
  });

  app.delete<{ Params: { id: string } }>('/recovery-keys/:id', { schema: removeSchema }, async (request, reply) => {
    const session = await requireStepUp(ctx, request);
    const { id } = request.params;
    await ctx.db.transaction(async (tx) => {
      await lockAccountForUnlockChange(tx, session.accountId);
      if (!(await recoveryKeyById(tx, session.accountId, id))) apiError('E_NOT_FOUND', 'No recovery key with that id on this account.');
      if ((await countUnlockMethods(tx, session.accountId)) <= 1) {
        apiError('E_LAST_UNLOCK_METHOD', 'This recovery key is the last way to sign in to the account; add a passkey, a password or another recovery key first.');
      }
      await deleteRecoveryKey(tx, session.accountId, id);
      await logRequestEvent(tx, request, session.accountId, 'recovery-key-removed', { recoveryKeyId: id });
    });
    return reply.status(204).send();
  });
}
