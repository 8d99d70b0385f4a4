/**
 * Exit codes (restic's numbers) and the error codes of the JSON error document.
 * Errors from core and the engine keep their catalog code; the CLI adds a few
 * of its own for what happens outside them.
 */
import { CofferError } from '@coffer/core';

export const EXIT = {
  ok: 0,
  failure: 1,
  /** The backup finished, but some source paths could not be read. */
  partial: 3,
  repositoryNotFound: 10,
  repositoryLocked: 11,
  wrongKey: 12,
  /** 128 + the signal number, as shells report it. */
  interruptedInt: 130,
  interruptedTerm: 143,
} as const;

/** Codes the CLI adds to the catalog's, for errors that do not come from core or the engine. */
export type CliErrorCode = 'E_USAGE' | 'E_IO' | 'E_INTERRUPTED' | 'E_INTERNAL';

/** Bad command-line input: unknown command or option, missing or malformed argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose help explains the right usage; undefined for `coffer --help`. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A failure the CLI reports with a code and an exit status of its choosing (restore or check found problems). */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** SIGINT or SIGTERM (or Ctrl-C at a prompt) stopped the command. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  readonly signal: 'SIGINT' | 'SIGTERM';

  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof ReportedFailure) return error.exitCode;
  if (error instanceof Interrupted) return error.signal === 'SIGINT' ? EXIT.interruptedInt : EXIT.interruptedTerm;
  if (!(error instanceof CofferError)) return EXIT.failure;
  switch (error.code) {
    case 'E_REPOSITORY_NOT_FOUND':
      return EXIT.repositoryNotFound;
    case 'E_REPOSITORY_LOCKED':
      return EXIT.repositoryLocked;
    case 'E_WRONG_KEY':
    case 'E_RECOVERY_KEY_TYPO':
    case 'E_RECOVERY_KEY_FORMAT':
    case 'E_VAULT_LOGIN_FAILED':
      return EXIT.wrongKey;
    default:
      return EXIT.failure;
  }
}

/** An operating-system error (ENOENT, EACCES…) that escaped as a plain Node error. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && !(error instanceof CofferError) && 'code' in error && typeof error.code === 'string' && /^E[A-Z0-9]+$/.test(error.code);
}

export function errorCodeFor(error: unknown): string {
  if (error instanceof CofferError || error instanceof ReportedFailure) return error.code;
  if (error instanceof UsageError) return 'E_USAGE';
  if (error instanceof Interrupted) return 'E_INTERRUPTED';
  if (isSystemError(error)) return 'E_IO';
  return 'E_INTERNAL';
}

/** What a person should try next, for the errors that have an obvious next step. */
export function hintFor(error: unknown): string | undefined {
  if (!(error instanceof CofferError)) return undefined;
  switch (error.code) {
    case 'E_REPOSITORY_NOT_FOUND':
      return 'check -r/--repo or COFFER_REPOSITORY, or create a repository with `coffer init`';
    case 'E_REPOSITORY_LOCKED':
      return 'if no other coffer process is using the repository, `coffer unlock` removes stale locks';
    case 'E_WRONG_KEY':
      return 'this recovery key is well-formed but belongs to another repository or was removed from this one';
    case 'E_ROLLBACK':
      return 'the storage now shows an older state than this computer saw before: it was rolled back, or snapshots were deleted behind Coffer\'s back. If you restored the storage from an older copy yourself, run with a fresh COFFER_STATE_DIR to accept its state';
    case 'E_UNAUTHENTICATED':
      return 'sign in to the server with `coffer login -r coffer:URL` (with COFFER_PASSWORD or a recovery key)';
    case 'E_STEP_UP_REQUIRED':
      return 'the server wants a fresh proof that you hold an unlock method: run the command again and confirm with your passkey on the page it prints, or give the recovery key (COFFER_RECOVERY_KEY or --recovery-key-file)';
    case 'E_STEP_UP_DECLINED':
      return 'someone pressed "This wasn\'t me" on the confirmation page. If that was not you, revoke the sessions you do not know (your account\'s sessions) and change your password';
    case 'E_STORAGE_UNAVAILABLE':
      return 'the storage could not be reached (network down, server overloaded) even after retries. Nothing half-done became visible; run the same command again when it is back — a backup reuses what it already uploaded';
    case 'E_STORAGE_FULL':
      return 'the storage is full or over its quota. Free space or raise the quota, then run again; the snapshots already there are intact';
    case 'E_STORAGE_DENIED':
      return 'check the storage credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3, COFFER_WEBDAV_USER and COFFER_WEBDAV_PASSWORD for WebDAV)';
    default:
      return undefined;
  }
}
