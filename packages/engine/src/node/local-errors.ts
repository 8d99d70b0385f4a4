/**
 * Turns Node filesystem errors into the contract's errors: a CofferError with
 * an E_STORAGE_* code, or a TransientError that the retry loop tries again.
 */
import { CofferError } from '@coffer/core';
import { TransientError } from '../storage/retry.ts';

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Out of file descriptors, interrupted, briefly busy: another try may work. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT']);

export function fsFailure(error: unknown, what: string): CofferError | TransientError {
  if (error instanceof CofferError || error instanceof TransientError) return error;
  const code = errnoCode(error) ?? 'unknown error';
  const message = `${what}: ${code}`;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new CofferError('E_STORAGE_FULL', message, { cause: error });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CofferError('E_STORAGE_DENIED', message, { cause: error });
    default:
      return TRANSIENT.has(code) ? new TransientError(message, { cause: error }) : new CofferError('E_STORAGE_FAILED', message, { cause: error });
  }
}

export function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
