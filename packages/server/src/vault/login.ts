import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import type { FastifyRequest } from 'fastify';
import { accountByUsername, normalizeUsername } from '../accounts/accounts.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';
import { decoyName, vaultSetup } from './setup.ts';
import { eraseExhausted, restoreAndReadShare, savePendingLogin, storedAttemptsLeft, takeDecoyGuess, takeGuess, takePendingLogin, type LiveGuess } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * The guess-limited OPAQUE login (RFC 9807; design decision 2).
 *
 * start: in ONE transaction — take a guess (the counter goes down), run the
 *   server's OPAQUE step against the record, store the server state under a
 *   random login id, log the attempt — and commit before anything is sent.
 *   A server that dies after the commit has still spent the guess; one that
 *   dies before it never answered, so there was no guess to spend.
 * finish: the login id is taken out of the store (single use), KE3 is
 *   verified, and only then is the counter restored to N and the share read.
 *
 * A name without a live vault (unknown, no password, erased) gets the very same
 * treatment with OPAQUE's fake record and a decoy counter (see decoy counters
 * in 003-vault.ts), so neither the answer's shape nor its attempts-left tell.
 */

/** What the client sees when the vault (or its absence) answered. */
export interface LoginStart {
  readonly loginId: string;
  readonly loginResponse: string;
  readonly attemptsLeft: number;
}

type VaultState = 'live' | 'erased' | 'none';

export async function startVaultLogin(ctx: AppContext, request: FastifyRequest, username: string, startLoginRequest: string): Promise<LoginStart> {
  const setup = await vaultSetup(ctx.db);
  const name = normalizeUsername(username);
  const loginId = randomBytes(32).toString('base64url');
  const answer = await ctx.db.transaction(async (tx) => {
    const account = await accountByUsername(tx, name);
    const guess = account && (await takeGuess(tx, account.id));
    let state: VaultState = 'live';
    let attemptsLeft: number;
    if (guess) {
      attemptsLeft = guess.attemptsLeft;
    } else {
      const stored = account && (await noGuessLeft(tx, request, account.id));
      state = stored === undefined ? 'none' : 'erased';
      attemptsLeft = stored ?? (await takeDecoyGuess(tx, decoyName(setup, name), ctx.config.vaultMaxAttempts));
    }
    const { loginResponse, serverLoginState } = serverStart(setup.serverSetup, guess, startLoginRequest, name);
    await savePendingLogin(tx, {
      id: loginId,
      accountId: guess ? guess.accountId : null,
      generation: guess ? guess.generation : null,
      serverState: serverLoginState,
      expiresAt: nowMs() + ctx.config.challengeTtlMs,
    });
    if (account) await logRequestEvent(tx, request, account.id, 'vault-attempt', { attemptsLeft, maxAttempts: ctx.config.vaultMaxAttempts, vault: state });
    return { loginResponse, attemptsLeft };
  });
  return { loginId, ...answer };
}

/**
 * The account had no guess to give: erase it if it still holds an exhausted
 * record, and report the stored counter (0) of an erased vault; undefined when
 * the account never had a password (the caller then uses its decoy counter).
 */
async function noGuessLeft(tx: Queryable, request: FastifyRequest, accountId: string): Promise<number | undefined> {
  if (await eraseExhausted(tx, accountId)) await logRequestEvent(tx, request, accountId, 'vault-erased', { reason: 'guess-limit' });
  return storedAttemptsLeft(tx, accountId);
}

function serverStart(serverSetup: string, guess: LiveGuess | undefined, startLoginRequest: string, name: string): opaque.server.LoginStartResult {
  try {
    // registrationRecord null makes the library answer from a fake record: same size, never verifiable.
    return opaque.server.startLogin({ serverSetup, registrationRecord: guess?.record ?? null, startLoginRequest, userIdentifier: name });
  } catch {
    // A malformed KE1 throws here, inside the transaction: it rolls back, so no guess is taken for a login that never got an answer.
    return apiError('E_BAD_REQUEST', 'The password sign-in request is malformed.');
  }
}

const LOGIN_FAILED = 'The password is wrong, or there is no password vault for that name.';

/** Verifies KE3; on success restores the counter to N and returns the account and its vault share. */
export async function finishVaultLogin(ctx: AppContext, request: FastifyRequest, loginId: string, finishLoginRequest: string): Promise<{ accountId: string; share: Uint8Array }> {
  // A finish may be the first vault request this process sees (its start went to another instance).
  await opaque.ready;
  const pending = await takePendingLogin(ctx.db, loginId);
  if (!pending || pending.expiresAt <= nowMs()) return apiError('E_CHALLENGE', 'This sign-in is unknown, expired or already finished; start again.');
  let verified: boolean;
  try {
    // Run for fake logins too, so the time taken does not tell them apart.
    opaque.server.finishLogin({ serverLoginState: pending.serverState, finishLoginRequest });
    verified = true;
  } catch {
    verified = false;
  }
  const { accountId, generation } = pending;
  if (accountId === null || generation === null) return apiError('E_VAULT_LOGIN_FAILED', LOGIN_FAILED);
  if (!verified) {
    await endFailedLogin(ctx, request, accountId);
    return apiError('E_VAULT_LOGIN_FAILED', LOGIN_FAILED);
  }
  const share = await ctx.db.transaction((tx) => restoreAndReadShare(tx, accountId, generation, ctx.config.vaultMaxAttempts));
  // The vault was erased or given a new password while this login was in flight.
  if (!share) return apiError('E_VAULT_LOGIN_FAILED', LOGIN_FAILED);
  return { accountId, share };
}

/**
 * The client found the password wrong (OPAQUE tells it before KE3) and says
 * so. Nothing is refunded; the login ends, and a vault whose last guess this
 * was is erased now rather than at the next attempt.
 */
export async function abortVaultLogin(ctx: AppContext, request: FastifyRequest, loginId: string): Promise<void> {
  const pending = await takePendingLogin(ctx.db, loginId);
  if (pending?.accountId) await endFailedLogin(ctx, request, pending.accountId);
}

async function endFailedLogin(ctx: AppContext, request: FastifyRequest, accountId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    if (await eraseExhausted(tx, accountId)) await logRequestEvent(tx, request, accountId, 'vault-erased', { reason: 'guess-limit' });
  });
}
