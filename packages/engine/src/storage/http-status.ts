/**
 * What an HTTP error status means for a storage driver (S3 and WebDAV share
 * this): retry, or which E_STORAGE_* code. Statuses the driver expects as an
 * answer (404 on get, 412 on a conditional write) are handled before this.
 */
import { CofferError } from '@coffer/core';
import { TransientError } from './retry.ts';

/**
 * 408 timeout, 423 locked (a WebDAV server's own short lock while another
 * request on the same resource runs), 425 too early, 429 too many requests,
 * and every 5xx except 501 (not implemented), 505 (version not supported)
 * and 507 (insufficient storage), which answer the same way every time.
 */
export function isTransientStatus(status: number): boolean {
  if (status === 408 || status === 423 || status === 425 || status === 429) return true;
  return status >= 500 && status !== 501 && status !== 505 && status !== 507;
}

export function httpFailure(status: number, what: string, cause?: unknown): CofferError | TransientError {
  const message = `${what}: HTTP ${String(status)}`;
  const options = cause === undefined ? undefined : { cause };
  if (isTransientStatus(status)) return new TransientError(message, options);
  if (status === 401 || status === 403) return new CofferError('E_STORAGE_DENIED', message, options);
  // 507 Insufficient Storage (WebDAV, RFC 4918 §11.5).
  if (status === 507) return new CofferError('E_STORAGE_FULL', message, options);
  return new CofferError('E_STORAGE_FAILED', message, options);
}

/** A fetch-based driver's classifier for what escaped: cut-off replies are transient, anything else a permanent failure. */
export function unexpectedFetchFailure(error: unknown, what: string): Error {
  if (error instanceof CofferError || error instanceof TransientError) return error;
  const name = error instanceof Error ? error.name : 'unknown';
  if (name === 'TimeoutError' || name === 'AbortError' || (error instanceof TypeError && error.message === 'terminated')) {
    return new TransientError(`${what}: the reply was cut off (${name})`, { cause: error });
  }
  return new CofferError('E_STORAGE_FAILED', `${what}: ${name}`, { cause: error });
}
