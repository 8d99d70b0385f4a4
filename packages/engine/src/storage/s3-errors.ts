/**
 * Sorts what the AWS SDK throws into the contract's outcomes. The SDK's own
 * retries are off (maxAttempts: 1) so that retry.ts is the only retry loop:
 * 5 × 3 nested tries would blow the 30 s budget.
 */
import { CofferError } from '@coffer/core';
import { httpFailure } from './http-status.ts';
import { TransientError } from './retry.ts';

export interface S3ErrorInfo {
  /** HTTP status, or undefined when no response came back (reset, timeout, refused). */
  readonly status: number | undefined;
  /** S3 error code (`NoSuchKey`, `PreconditionFailed`, …) or the JS error name. */
  readonly code: string;
}

export function s3ErrorInfo(error: unknown): S3ErrorInfo {
  const candidate = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const status = candidate?.$metadata?.httpStatusCode;
  const code = typeof candidate?.Code === 'string' ? candidate.Code : typeof candidate?.name === 'string' ? candidate.name : 'unknown';
  return { status: typeof status === 'number' ? status : undefined, code };
}

/** Throttling and server-side hiccups that S3 reports under a 4xx or without a status. */
const TRANSIENT_CODES = new Set(['SlowDown', 'RequestTimeout', 'RequestTimeoutException', 'ThrottlingException', 'InternalError', 'ServiceUnavailable', 'ConditionalRequestConflict', 'TimeoutError']);
const DENIED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError']);
const NETWORK_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const FULL_CODES = new Set(['QuotaExceeded', 'XMinioStorageFull', 'InsufficientStorage']);

export function s3Failure(error: unknown, what: string): CofferError | TransientError {
  if (error instanceof CofferError || error instanceof TransientError) return error;
  const { status, code } = s3ErrorInfo(error);
  const options = { cause: error };
  if (DENIED_CODES.has(code)) return new CofferError('E_STORAGE_DENIED', `${what}: ${code}`, options);
  if (FULL_CODES.has(code)) return new CofferError('E_STORAGE_FULL', `${what}: ${code}`, options);
  if (TRANSIENT_CODES.has(code)) return new TransientError(`${what}: ${code}`, options);
  if (code === 'NoSuchBucket') return new CofferError('E_STORAGE_FAILED', `${what}: the bucket does not exist`, options);
  if (status === undefined) {
    // No response at all: retry when the network failed, not when the SDK was misconfigured.
    const errno = (error as { code?: unknown } | null)?.code;
    if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) return new TransientError(`${what}: ${errno}`, options);
    return new CofferError('E_STORAGE_FAILED', `${what}: ${code}`, options);
  }
  return httpFailure(status, `${what}: ${code}`, error);
}
