import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import type { FastifyRequest } from 'fastify';
import { accountById } from '../accounts/accounts.ts';
import type { Session } from '../accounts/sessions.ts';
import { countUnlockMethods, lockAccountForUnlockChange } from '../accounts/unlock-methods.ts';
import type { AppContext } from '../context.ts';
import { apiError } from '../http-errors.ts';
import { vaultSetup } from './setup.ts';
import { removeRecord, storeRecord } from './store.ts';
import { logRequestEvent } from '../security-log/request-event.ts';

/**
 * Setting, changing and removing the password. Callers have checked the
 * session and a fresh step-up (requireStepUp): a stolen session token alone
 * can neither reset the guess counter by re-registering nor swap the password.
 */

export const VAULT_SHARE_BYTES = 32;

/** The OPAQUE identifier of an account's record: its (normalized) username, the name people log in with. */
async function vaultName(ctx: AppContext, session: Session): Promise<string> {
  const account = (await accountById(ctx.db, session.accountId)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
  if (account.username === null) apiError('E_BAD_REQUEST', 'A password needs a username to sign in with, and this account has none.');
  return account.username;
}

export async function registrationResponse(ctx: AppContext, session: Session, registrationRequest: string): Promise<string> {
  const [setup, name] = await Promise.all([vaultSetup(ctx.db), vaultName(ctx, session)]);
  try {
    return opaque.server.createRegistrationResponse({ serverSetup: setup.serverSetup, userIdentifier: name, registrationRequest }).registrationResponse;
  } catch {
    return apiError('E_BAD_REQUEST', 'The password registration request is malformed.');
  }
}

/**
 * Stores the record with a fresh random share and a full counter, and returns
 * the share: the client needs it for the password keyslot. A new share on
 * every change means a keyslot made for an old password stays dead even if it
 * lingers in storage.
 */
export async function storePassword(ctx: AppContext, request: FastifyRequest, session: Session, registrationRecord: string): Promise<{ share: Uint8Array; attemptsLeft: number }> {
  const [setup, name] = await Promise.all([vaultSetup(ctx.db), vaultName(ctx, session)]);
  checkRecordUsable(setup.serverSetup, registrationRecord, name);
  const share = new Uint8Array(randomBytes(VAULT_SHARE_BYTES));
  const max = ctx.config.vaultMaxAttempts;
  await ctx.db.transaction(async (tx) => {
    const { replaced } = await storeRecord(tx, session.accountId, registrationRecord, share, max);
    await logRequestEvent(tx, request, session.accountId, replaced ? 'password-changed' : 'vault-set', { attemptsLeft: max });
  });
  return { share, attemptsLeft: max };
}

/**
 * A record that does not deserialize would make every later login of this
 * name fail differently from a fake one (and the account would tell itself
 * apart); refuse it now with a dry-run server step.
 */
function checkRecordUsable(serverSetup: string, registrationRecord: string, name: string): void {
  const probe = opaque.client.startLogin({ password: randomBytes(16).toString('base64url') });
  try {
    opaque.server.startLogin({ serverSetup, registrationRecord, startLoginRequest: probe.startLoginRequest, userIdentifier: name });
  } catch {
    apiError('E_BAD_REQUEST', 'The password registration record is malformed.');
  }
}

export async function removePassword(ctx: AppContext, request: FastifyRequest, session: Session): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await lockAccountForUnlockChange(tx, session.accountId);
    const live = await tx.one('SELECT account_id FROM vault_records WHERE account_id = ? AND record IS NOT NULL', [session.accountId]);
    if (!live) apiError('E_NOT_FOUND', 'This account has no password.');
    if ((await countUnlockMethods(tx, session.accountId)) <= 1) {
      apiError('E_LAST_UNLOCK_METHOD', 'The password is the last way to sign in to this account; add a passkey or a recovery key first.');
    }
    await removeRecord(tx, session.accountId);
    await logRequestEvent(tx, request, session.accountId, 'vault-erased', { reason: 'removed' });
  });
}
