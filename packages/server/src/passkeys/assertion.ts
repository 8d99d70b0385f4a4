import { generateAuthenticationOptions, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import type { Account } from '../accounts/accounts.ts';
import type { Queryable } from '../db/db.ts';
import { consumeChallenge, issueChallenge, type ChallengeBinding, type ChallengePurpose, type ConsumeScope, type StoredChallenge } from './challenges.ts';
import { CEREMONY_TIMEOUT_MS, type PasskeyContext } from './passkey-context.ts';
import { refusePrfResults } from './prf-guard.ts';
import { passkeyById, recordAssertion, type Passkey } from './store.ts';
import { readClientData, rejectResponse, verifyAssertion, type AssertionResult } from './verify.ts';

/** The steps every assertion ceremony (sign-in, step-up, share release) shares. */

/** Issues a challenge for `purpose` and the request options naming `allow` (empty: any discoverable credential). */
export async function assertionOptions(
  ctx: PasskeyContext,
  purpose: ChallengePurpose,
  binding: ChallengeBinding,
  allow: readonly { id: string; transports?: string[] }[],
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const challenge = await issueChallenge(ctx.db, purpose, binding, ctx.config.challengeTtlMs);
  return generateAuthenticationOptions({
    rpID: ctx.rp.rpId,
    challenge,
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'required',
    allowCredentials: allow.map((c) => ({ id: c.id, ...(c.transports && c.transports.length > 0 ? { transports: c.transports } : {}) })),
  });
}

/**
 * Refuses leaked PRF results, consumes the challenge the response claims to
 * answer (for this purpose and scope), and looks up the credential it names.
 * From here on the challenge is spent, whatever happens next.
 */
export async function openAssertion(
  ctx: PasskeyContext,
  request: FastifyRequest,
  response: AuthenticationResponseJSON,
  purpose: ChallengePurpose,
  scope: ConsumeScope = {},
): Promise<{ stored: StoredChallenge; passkey: Passkey | undefined }> {
  refusePrfResults(response);
  const { challenge } = readClientData(response.response.clientDataJSON, request.log);
  const stored = await consumeChallenge(ctx.db, challenge, purpose, scope);
  return { stored, passkey: await passkeyById(ctx.db, response.id) };
}

/**
 * The user handle, when the authenticator returns one, must be the handle of
 * the account that owns the credential. A discoverable sign-in (no username,
 * so no allow list) must return it.
 */
export function checkUserHandle(request: FastifyRequest, response: AuthenticationResponseJSON, account: Account, required: boolean): void {
  // Absent, empty or JSON null (which the schema lets through: some clients send it) all mean "no handle".
  const handle = response.response.userHandle;
  if (!handle) {
    if (required) rejectResponse(request.log, 'The authenticator returned no user handle.');
    return;
  }
  if (!Buffer.from(handle, 'base64url').equals(account.userHandle)) {
    rejectResponse(request.log, "The user handle does not match the credential's account.");
  }
}

/**
 * Verifies the assertion, then in one transaction stores its counter and runs
 * `andThen` (a share release, say): nothing is written, and nothing released,
 * unless the verification and the counter update both succeed.
 */
export async function verifyAndRecord<T>(
  ctx: PasskeyContext,
  request: FastifyRequest,
  response: AuthenticationResponseJSON,
  stored: StoredChallenge,
  passkey: Passkey,
  andThen: (tx: Queryable, result: AssertionResult) => Promise<T>,
): Promise<T> {
  const result = await verifyAssertion(ctx.rp, response, stored.challenge, passkey, request.log);
  return ctx.db.transaction(async (tx) => {
    if (!(await recordAssertion(tx, passkey.id, result))) {
      rejectResponse(request.log, 'The signature counter did not advance (a concurrent or cloned use).');
    }
    return andThen(tx, result);
  });
}

/** For ceremonies whose effect happens after the transaction (opening a session). */
export const nothingMore = (): Promise<void> => Promise.resolve();
