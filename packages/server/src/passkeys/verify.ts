import { CofferError, MAX_CREDENTIAL_ID_BYTES } from '@coffer/core';
import {
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  type VerifiedAuthenticationResponse,
  type VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { cose, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import type { FastifyBaseLogger } from 'fastify';
import type { Passkey } from './store.ts';

/**
 * The relying-party checks around SimpleWebAuthn. The library verifies
 * origin, RP id hash, type, challenge, UP/UV, signature, counter regression and
 * BS-without-BE; this module adds what it leaves to us (see the security test
 * plan §2): crossOrigin/topOrigin at registration, the credential id in the
 * authenticator data matching the response id, the algorithm policy on the
 * stored key, `verified === true` checked at every call, and BE unchanged
 * against the stored record. Every failure is E_WEBAUTHN_REJECTED with a
 * generic message; the library's text (which echoes client input) goes only
 * to the log.
 */

/** ES256 and RS256: what platform authenticators use. Ed25519 is left out on purpose (see passkeys-in-tests.md). */
export const SUPPORTED_ALGORITHMS: readonly number[] = [-7, -257];

const KNOWN_TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

export interface RelyingParty {
  readonly rpId: string;
  readonly origin: string;
}

export function rejectResponse(log: FastifyBaseLogger | undefined, message: string, cause?: unknown): never {
  // The cause's text may echo attacker input: pino writes it as an escaped JSON string, truncated here.
  log?.info({ reason: cause instanceof Error ? cause.message.slice(0, 300) : undefined }, `webauthn response rejected: ${message}`);
  throw new CofferError('E_WEBAUTHN_REJECTED', message, cause === undefined ? undefined : { cause });
}

/**
 * The challenge the response claims to answer, read from clientDataJSON so
 * the matching stored challenge can be consumed before anything else is
 * checked (a response is then tried once, whatever is wrong with it).
 */
export function readClientData(clientDataJSON: string, log?: FastifyBaseLogger): { challenge: string; crossOrigin: unknown; topOrigin: unknown } {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch (cause) {
    return rejectResponse(log, 'clientDataJSON is not JSON.', cause);
  }
  if (typeof data !== 'object' || data === null) return rejectResponse(log, 'clientDataJSON is not an object.');
  const { challenge, crossOrigin, topOrigin } = data as { challenge?: unknown; crossOrigin?: unknown; topOrigin?: unknown };
  if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(challenge)) return rejectResponse(log, 'clientDataJSON has no valid challenge.');
  return { challenge, crossOrigin, topOrigin };
}

/** Coffer never runs a ceremony inside a cross-origin iframe; SimpleWebAuthn does not check this at registration. */
function refuseCrossOrigin(clientDataJSON: string, log?: FastifyBaseLogger): void {
  const { crossOrigin, topOrigin } = readClientData(clientDataJSON, log);
  if (crossOrigin === true || topOrigin !== undefined) rejectResponse(log, 'Cross-origin ceremonies are not accepted.');
}

export interface NewCredential {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly alg: number;
  readonly counter: number;
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly aaguid: string;
  readonly transports: string[];
}

/** Verifies a registration (attestation) response against the challenge that was consumed for it. */
export async function verifyNewCredential(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
  log?: FastifyBaseLogger,
): Promise<NewCredential> {
  refuseCrossOrigin(response.response.clientDataJSON, log);
  let result: VerifiedRegistrationResponse;
  try {
    result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: [...SUPPORTED_ALGORITHMS],
    });
  } catch (cause) {
    return rejectResponse(log, 'The passkey registration failed verification.', cause);
  }
  if (!result.verified) return rejectResponse(log, 'The passkey registration failed verification.');
  const info = result.registrationInfo;
  if (info.credential.id !== response.id) return rejectResponse(log, 'The credential id in the authenticator data differs from the response.');
  if (Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) return rejectResponse(log, 'The credential id is too long.');
  if (!info.userVerified) return rejectResponse(log, 'The authenticator did not verify the user.');
  const alg = decodeCredentialPublicKey(info.credential.publicKey).get(cose.COSEKEYS.alg);
  if (typeof alg !== 'number' || !SUPPORTED_ALGORITHMS.includes(alg)) return rejectResponse(log, 'The credential uses an algorithm other than ES256 or RS256.');
  return {
    id: info.credential.id,
    publicKey: new Uint8Array(info.credential.publicKey),
    alg,
    counter: info.credential.counter,
    backupEligible: info.credentialDeviceType === 'multiDevice',
    backedUp: info.credentialBackedUp,
    aaguid: info.aaguid,
    transports: (response.response.transports ?? []).filter((t) => KNOWN_TRANSPORTS.has(t)),
  };
}

/** What a verified assertion reports, to be stored by `recordAssertion`. */
export interface AssertionResult {
  readonly counter: number;
  readonly backedUp: boolean;
}

/** Verifies an assertion by `passkey` against the challenge that was consumed for it. Stores nothing. */
export async function verifyAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  passkey: Passkey,
  log?: FastifyBaseLogger,
): Promise<AssertionResult> {
  if (response.id !== passkey.id) return rejectResponse(log, 'The response names another credential.');
  // A key stored under an older policy is not trusted under the current one.
  if (!SUPPORTED_ALGORITHMS.includes(passkey.alg)) return rejectResponse(log, 'The credential uses an algorithm other than ES256 or RS256.');
  refuseCrossOrigin(response.response.clientDataJSON, log);
  let result: VerifiedAuthenticationResponse;
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      expectedType: 'webauthn.get',
      requireUserVerification: true,
      credential: { id: passkey.id, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.counter },
    });
  } catch (cause) {
    return rejectResponse(log, 'The passkey assertion failed verification.', cause);
  }
  // A false here with no exception is still a failure (the "ignored return value" class of bugs).
  if (!result.verified) return rejectResponse(log, 'The passkey assertion failed verification.');
  const info = result.authenticationInfo;
  if (!info.userVerified) return rejectResponse(log, 'The authenticator did not verify the user.');
  if ((info.credentialDeviceType === 'multiDevice') !== passkey.backupEligible) {
    return rejectResponse(log, "The credential's backup eligibility changed since registration.");
  }
  return { counter: info.newCounter, backedUp: info.credentialBackedUp };
}
