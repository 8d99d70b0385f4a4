import { verifyRecoverySignature, type RecoverySignInPurpose } from '@coffer/core';
import type { AppContext } from '../context.ts';
import { consumeRecoveryChallenge } from './challenges.ts';

/** A recovery-key signature as the client sends it (base64url fields). */
export interface RecoveryProof {
  readonly challenge: string;
  readonly publicKey: string;
  readonly signature: string;
}

/**
 * Consumes the challenge (E_CHALLENGE if it is not one of ours for this
 * purpose and session), then checks the signature against this server's own
 * origin — never an origin the client names — with core's verifier, the same
 * code the vectors pin (format.md §7.6).
 */
export async function checkProof(
  ctx: AppContext,
  proof: RecoveryProof,
  purpose: RecoverySignInPurpose,
  sessionId?: string,
): Promise<{ publicKey: Uint8Array; verified: boolean }> {
  const challenge = await consumeRecoveryChallenge(ctx.db, proof.challenge, purpose, sessionId);
  const publicKey = new Uint8Array(Buffer.from(proof.publicKey, 'base64url'));
  try {
    await verifyRecoverySignature(publicKey, { origin: ctx.config.origin, purpose, challenge }, new Uint8Array(Buffer.from(proof.signature, 'base64url')));
    return { publicKey, verified: true };
  } catch {
    return { publicKey, verified: false };
  }
}
