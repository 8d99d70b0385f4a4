import { generateRegistrationOptions, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/server';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { accountById, accountByUsername, createAccount, normalizeUsername, type Account } from '../accounts/accounts.ts';
import type { SessionKind } from '../accounts/sessions.ts';
import { issuedSessionSchema, issueSession, requireStepUp, sessionKindSchema } from '../auth.ts';
import { nowMs } from '../db/db.ts';
import { apiError, errorBodySchema } from '../http-errors.ts';
import { consumeChallenge, issueChallenge } from './challenges.ts';
import { CEREMONY_TIMEOUT_MS, passkeyInfo, type PasskeyContext } from './passkey-context.ts';
import { refusePrfResults } from './prf-guard.ts';
import { creationOptionsSchema, passkeyInfoSchema, passkeyNameSchema, registrationResponseSchema, usernameSchema } from './schemas.ts';
import { insertPasskey, listPasskeys } from './store.ts';
import { readClientData, SUPPORTED_ALGORITHMS, verifyNewCredential, type NewCredential } from './verify.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * Registration ceremonies: a new account with its first passkey (no account
 * row exists until the response verifies), and another passkey for the
 * signed-in account (after a fresh step-up). Both ask for a discoverable
 * credential with user verification, ES256 or RS256, and the PRF extension.
 */

/** The account a registration will create, kept with its challenge until the response arrives. */
interface PendingAccount {
  username: string | null;
  displayName: string;
  /** base64url of the 32-byte WebAuthn user handle sent in the options. */
  userHandle: string;
}

const optionsResponse = { 200: { type: 'object', required: ['options'], properties: { options: creationOptionsSchema } }, '4xx': errorBodySchema } as const;

async function creationOptions(
  ctx: PasskeyContext,
  challenge: Uint8Array,
  user: { handle: Uint8Array; name: string; displayName: string },
  exclude: readonly string[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: ctx.config.rpName,
    rpID: ctx.rp.rpId,
    userName: user.name,
    userID: new Uint8Array(user.handle),
    userDisplayName: user.displayName,
    challenge: new Uint8Array(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: exclude.map((id) => ({ id })),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    // The SDK fills in the PRF salts as bytes; an empty object asks the authenticator to enable PRF.
    extensions: { prf: {}, credProps: true },
    supportedAlgorithmIDs: [...SUPPORTED_ALGORITHMS],
  });
}

function storedPasskey(ctx: PasskeyContext, credential: NewCredential, accountId: string, name: string | undefined) {
  return { ...credential, accountId, name: name ?? ctx.settings.providers.nameOf(credential.aaguid), createdAt: nowMs() };
}

export function registrationRoutes(app: FastifyInstance, ctx: PasskeyContext): void {
  const ceremonyLimit = { rateLimit: { max: ctx.settings.ceremonyRateLimit, timeWindow: '1 minute' } };

  app.post<{ Body: { username?: string; displayName?: string } }>(
    '/passkeys/register/options',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Start creating an account with a passkey',
        tags: ['passkeys'],
        body: { type: 'object', additionalProperties: false, properties: { username: usernameSchema, displayName: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: optionsResponse,
      },
    },
    async (request) => {
      const { username, displayName } = request.body;
      if (username !== undefined) {
        // Checked now, not after the user has gone through the prompt; createAccount checks again at the end.
        if (normalizeUsername(username) === '') apiError('E_BAD_REQUEST', 'A username has 1 to 64 characters.');
        if (await accountByUsername(ctx.db, username)) apiError('E_CONFLICT', 'That username is taken.');
      }
      const pending: PendingAccount = {
        username: username ?? null,
        displayName: displayName ?? username ?? 'Coffer user',
        userHandle: randomBytes(32).toString('base64url'),
      };
      const challenge = await issueChallenge(ctx.db, 'register', { pending: JSON.stringify(pending) }, ctx.config.challengeTtlMs);
      const name = username === undefined ? pending.displayName : normalizeUsername(username);
      return { options: await creationOptions(ctx, challenge, { handle: Buffer.from(pending.userHandle, 'base64url'), name, displayName: pending.displayName }, []) };
    },
  );

  app.post<{ Body: { response: RegistrationResponseJSON; name?: string; sessionKind: SessionKind } }>(
    '/passkeys/register/verify',
    {
      config: ceremonyLimit,
      schema: {
        summary: 'Finish creating an account: verify the new passkey and open a session',
        tags: ['passkeys'],
        body: {
          type: 'object',
          required: ['response'],
          additionalProperties: false,
          properties: { response: registrationResponseSchema, name: passkeyNameSchema, sessionKind: sessionKindSchema },
        },
        response: {
          200: {
            type: 'object',
            required: ['accountId', 'displayName', 'passkey', 'session'],
            properties: {
              accountId: { type: 'string' },
              username: { type: ['string', 'null'] },
              displayName: { type: 'string' },
              passkey: passkeyInfoSchema,
              session: issuedSessionSchema,
            },
          },
          '4xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { response, name, sessionKind } = request.body;
      refusePrfResults(response);
      const stored = await consumeChallenge(ctx.db, readClientData(response.response.clientDataJSON, request.log).challenge, 'register');
      const pending = JSON.parse(stored.pending ?? '{}') as PendingAccount;
      const credential = await verifyNewCredential(ctx.rp, response, stored.challenge, request.log);
      const { account, passkey } = await ctx.db.transaction(async (tx) => {
        const created = await createAccount(tx, { username: pending.username ?? undefined, displayName: pending.displayName });
        // The credential was made for the handle in the options, so the account takes that handle.
        const userHandle = new Uint8Array(Buffer.from(pending.userHandle, 'base64url'));
        await tx.run('UPDATE accounts SET user_handle = ? WHERE id = ?', [userHandle, created.id]);
        const passkey = storedPasskey(ctx, credential, created.id, name);
        if (!(await insertPasskey(tx, passkey))) apiError('E_CONFLICT', 'This passkey is already registered.');
        await logRequestEvent(tx, request, created.id, 'account-created', { credentialId: passkey.id });
        await logRequestEvent(tx, request, created.id, 'passkey-added', { credentialId: passkey.id, provider: ctx.settings.providers.nameOf(passkey.aaguid) });
        const account: Account = { ...created, userHandle };
        return { account, passkey: { ...passkey, lastUsedAt: null } };
      });
      const session = await issueSession(ctx, request, reply, { accountId: account.id, method: 'passkey', kind: sessionKind, steppedUp: true });
      await logRequestEvent(ctx.db, request, account.id, 'sign-in', { credentialId: passkey.id, sessionId: session.sessionId, registration: true });
      return { accountId: account.id, username: account.username, displayName: account.displayName, passkey: passkeyInfo(ctx, passkey), session };
    },
  );

  app.post(
    '/passkeys/add/options',
    {
      schema: {
        summary: 'Start adding a passkey to the signed-in account (needs a fresh step-up)',
        tags: ['passkeys'],
        security: [{ cookie: [] }, { bearer: [] }],
        response: optionsResponse,
      },
    },
    async (request) => {
      const session = await requireStepUp(ctx, request);
      const account = await signedInAccount(ctx, session.accountId);
      const existing = await listPasskeys(ctx.db, account.id);
      const challenge = await issueChallenge(ctx.db, 'add-passkey', { accountId: account.id, sessionId: session.id }, ctx.config.challengeTtlMs);
      const user = { handle: account.userHandle, name: account.username ?? account.displayName, displayName: account.displayName };
      // excludeCredentials keeps one authenticator from registering twice for the same account.
      return { options: await creationOptions(ctx, challenge, user, existing.map((p) => p.id)) };
    },
  );

  app.post<{ Body: { response: RegistrationResponseJSON; name?: string } }>(
    '/passkeys/add/verify',
    {
      schema: {
        summary: 'Finish adding a passkey to the signed-in account',
        tags: ['passkeys'],
        security: [{ cookie: [] }, { bearer: [] }],
        body: { type: 'object', required: ['response'], additionalProperties: false, properties: { response: registrationResponseSchema, name: passkeyNameSchema } },
        response: { 200: { type: 'object', required: ['passkey'], properties: { passkey: passkeyInfoSchema } }, '4xx': errorBodySchema },
      },
    },
    async (request) => {
      const session = await requireStepUp(ctx, request);
      const { response, name } = request.body;
      refusePrfResults(response);
      const stored = await consumeChallenge(ctx.db, readClientData(response.response.clientDataJSON, request.log).challenge, 'add-passkey', {
        sessionId: session.id,
      });
      const credential = await verifyNewCredential(ctx.rp, response, stored.challenge, request.log);
      const passkey = storedPasskey(ctx, credential, session.accountId, name);
      await ctx.db.transaction(async (tx) => {
        if (!(await insertPasskey(tx, passkey))) apiError('E_CONFLICT', 'This passkey is already registered.');
        await logRequestEvent(tx, request, session.accountId, 'passkey-added', { credentialId: passkey.id, provider: ctx.settings.providers.nameOf(passkey.aaguid) });
      });
      return { passkey: passkeyInfo(ctx, { ...passkey, lastUsedAt: null }) };
    },
  );
}

async function signedInAccount(ctx: PasskeyContext, accountId: string): Promise<Account> {
  return (await accountById(ctx.db, accountId)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
}

