import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeUsername } from '../accounts/accounts.ts';
import type { SessionKind } from '../accounts/sessions.ts';
import { issueSession, requireSession, requireStepUp } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { apiError } from '../http-errors.ts';
import { abortVaultLogin, finishVaultLogin, startVaultLogin } from './login.ts';
import { registrationResponse, removePassword, storePassword } from './registration.ts';
import {
  loginAbortSchema,
  loginFinishSchema,
  loginStartSchema,
  registrationFinishSchema,
  registrationStartSchema,
  removeSchema,
  statusSchema,
} from './schemas.ts';
import { loadVaultSettings, type VaultSettings } from './settings.ts';
import { vaultStatus } from './store.ts';
import { sweepNow } from './sweep.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * The password vault under /api/v1/vault: set, change and remove the password
 * (signed in, fresh step-up), and the guess-limited password sign-in that
 * releases the vault share. Shares travel base64url in JSON bodies only.
 */
export function vaultRoutes(app: FastifyInstance, ctx: AppContext, settings: VaultSettings = loadVaultSettings()): void {
  if (settings.crashAfterDecrement) app.log.warn('COFFER_TEST_CRASH_AFTER_DECREMENT=1: this server kills itself after every vault guess (crash tests only)');
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

  // Per client address: replaces the app-wide limit on these routes with a tighter one.
  const perAddress = { rateLimit: { max: settings.addressRateLimit, timeWindow: '1 minute', keyGenerator: (r: FastifyRequest) => `vault-ip:${r.ip}` } };
  // Per username, whatever the address: rotating addresses (or X-Forwarded-For) gains nothing against one name.
  const perUsername = app.createRateLimit({
    max: settings.usernameRateLimit,
    timeWindow: 60_000,
    keyGenerator: (r) => `vault-user:${normalizeUsername((r.body as { username: string }).username)}`,
  });

  app.get('/vault', { schema: statusSchema }, async (request) => {
    const session = await requireSession(ctx, request);
    return { ...(await vaultStatus(ctx.db, session.accountId)), maxAttempts: ctx.config.vaultMaxAttempts };
  });

  app.post<{ Body: { registrationRequest: string } }>('/vault/registration/start', { schema: registrationStartSchema }, async (request) => {
    const session = await requireStepUp(ctx, request);
    return { registrationResponse: await registrationResponse(ctx, session, request.body.registrationRequest) };
  });

  app.post<{ Body: { registrationRecord: string } }>('/vault/registration/finish', { schema: registrationFinishSchema }, async (request) => {
    const session = await requireStepUp(ctx, request);
    const { share, attemptsLeft } = await storePassword(ctx, request, session, request.body.registrationRecord);
    return { share: b64(share), attemptsLeft };
  });

  app.delete('/vault', { schema: removeSchema }, async (request, reply) => {
    const session = await requireStepUp(ctx, request);
    await removePassword(ctx, request, session);
    return reply.status(204).send();
  });

  app.post<{ Body: { username: string; startLoginRequest: string } }>(
    '/vault/login/start',
    {
      schema: loginStartSchema,
      config: perAddress,
      preHandler: async (request, reply) => {
        const limit = await perUsername(request);
        if (!limit.isAllowed && limit.isExceeded) {
          void reply.header('retry-after', String(limit.ttlInSeconds));
          apiError('E_RATE_LIMITED', 'Too many password sign-ins for this name; wait a minute.');
        }
      },
    },
    async (request) => {
      const started = await startVaultLogin(ctx, request, request.body.username, request.body.startLoginRequest);
      // The guess is committed: a crash from here on (the test hook below, or a real one) never refunds it.
      if (settings.crashAfterDecrement) process.kill(process.pid, 'SIGKILL');
      await sweepNow(ctx);
      return started;
    },
  );

  app.post<{ Body: { loginId: string; finishLoginRequest: string; sessionKind: SessionKind } }>(
    '/vault/login/finish',
    { schema: loginFinishSchema, config: perAddress },
    async (request, reply) => {
      const { accountId, share } = await finishVaultLogin(ctx, request, request.body.loginId, request.body.finishLoginRequest);
      const session = await issueSession(ctx, request, reply, { accountId, method: 'password', kind: request.body.sessionKind, steppedUp: true });
      await logRequestEvent(ctx.db, request, accountId, 'sign-in', { method: 'password', sessionId: session.sessionId });
      await logRequestEvent(ctx.db, request, accountId, 'share-released', { kind: 'vault-share' });
      return { accountId, share: b64(share), attemptsLeft: ctx.config.vaultMaxAttempts, session };
    },
  );

  app.post<{ Body: { loginId: string } }>('/vault/login/abort', { schema: loginAbortSchema, config: perAddress }, async (request, reply) => {
    await abortVaultLogin(ctx, request, request.body.loginId);
    return reply.status(204).send();
  });
}
