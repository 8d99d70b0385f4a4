import type { FastifyInstance } from 'fastify';
import { countUnlockMethods, lockAccountForUnlockChange } from '../accounts/unlock-methods.ts';
import { requireSession, requireStepUp } from '../auth.ts';
import { apiError, errorBodySchema } from '../http-errors.ts';
import { passkeyInfo, type PasskeyContext } from './passkey-context.ts';
import { credentialIdSchema, passkeyInfoSchema, passkeyNameSchema } from './schemas.ts';
import { deletePasskey, listPasskeys, passkeyById, renamePasskey } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/** The account's passkeys: list, rename, remove (never the last unlock method, and only after a fresh step-up). */
export function manageRoutes(app: FastifyInstance, ctx: PasskeyContext): void {
  const security = [{ cookie: [] }, { bearer: [] }];
  const idParams = { type: 'object', required: ['id'], properties: { id: credentialIdSchema } } as const;

  app.get(
    '/passkeys',
    {
      schema: {
        summary: "The account's passkeys, with provider name, creation and last-use time",
        tags: ['passkeys'],
        security,
        response: { 200: { type: 'object', required: ['passkeys'], properties: { passkeys: { type: 'array', items: passkeyInfoSchema } } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      return { passkeys: (await listPasskeys(ctx.db, session.accountId)).map((p) => passkeyInfo(ctx, p)) };
    },
  );

  app.patch<{ Params: { id: string }; Body: { name: string } }>(
    '/passkeys/:id',
    {
      schema: {
        summary: 'Rename a passkey',
        tags: ['passkeys'],
        security,
        params: idParams,
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: passkeyNameSchema } },
        response: { 200: { type: 'object', required: ['passkey'], properties: { passkey: passkeyInfoSchema } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const name = request.body.name.trim();
      if (name === '') apiError('E_BAD_REQUEST', 'A passkey name cannot be blank.');
      if (!(await renamePasskey(ctx.db, session.accountId, request.params.id, name))) apiError('E_NOT_FOUND', 'No passkey with that id on this account.');
      const passkey = (await passkeyById(ctx.db, request.params.id)) ?? apiError('E_NOT_FOUND', 'No passkey with that id on this account.');
      await logRequestEvent(ctx.db, request, session.accountId, 'passkey-renamed', { credentialId: passkey.id });
      return { passkey: passkeyInfo(ctx, passkey) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/passkeys/:id',
    {
      schema: {
        summary: 'Remove a passkey (needs a fresh step-up; refused for the last unlock method); its hybrid-slot shares go with it',
        tags: ['passkeys'],
        security,
        params: idParams,
        response: { 204: { type: 'null' }, '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const session = await requireStepUp(ctx, request);
      const { id } = request.params;
      await ctx.db.transaction(async (tx) => {
        await lockAccountForUnlockChange(tx, session.accountId);
        const passkey = await passkeyById(tx, id);
        if (!passkey || passkey.accountId !== session.accountId) apiError('E_NOT_FOUND', 'No passkey with that id on this account.');
        if ((await countUnlockMethods(tx, session.accountId)) <= 1) {
          apiError('E_LAST_UNLOCK_METHOD', 'This is the last way to sign in to the account; add another passkey (or a password or recovery key) first.');
        }
        await deletePasskey(tx, session.accountId, id);
        await logRequestEvent(tx, request, session.accountId, 'passkey-removed', { credentialId: id });
      });
      return reply.status(204).send();
    },
  );
}
