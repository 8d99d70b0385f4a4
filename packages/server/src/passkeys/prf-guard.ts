import { apiError } from '../http-errors.ts';

/**
 * PRF outputs are backup-key material and must never leave the client. The
 * SDK strips `clientExtensionResults.prf.results` before posting; a response
 * that still carries them comes from a leaking client, and is refused before
 * anything else reads it (the value is never echoed or logged: pino redacts
 * `*.prf` and the error message names no value).
 */
export function refusePrfResults(response: { clientExtensionResults?: unknown }): void {
  const extensions = response.clientExtensionResults;
  if (typeof extensions !== 'object' || extensions === null) return;
  const prf = (extensions as { prf?: unknown }).prf;
  if (typeof prf === 'object' && prf !== null && 'results' in prf) {
    apiError('E_BAD_REQUEST', 'PRF results must stay on the client: strip clientExtensionResults.prf.results before posting.');
  }
}
