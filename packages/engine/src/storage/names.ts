/**
 * Checks on what callers pass to a Storage (the contract in storage.ts): object
 * names, list prefixes and byte ranges. Every driver calls these first, so a
 * bad name fails the same way everywhere and never reaches a path or a URL.
 */
import { fail } from '@coffer/core';
import type { ByteRange } from './storage.ts';

export const MAX_NAME_BYTES = 255;

/**
 * One or more `/`-separated segments of [a-z0-9._-]. Empty segments (`a//b`)
 * and leading or trailing `/` do not match.
 */
const NAME_SHAPE = /^[a-z0-9._-]+(?:\/[a-z0-9._-]+)*$/;

/**
 * `..` is in the contract; `.` is refused too because a filesystem or a URL
 * resolver would fold `a/./b` into `a/b`, giving one object two names.
 */
function hasDotSegment(name: string): boolean {
  return name.split('/').some((segment) => segment === '.' || segment === '..');
}

export function isValidName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length <= MAX_NAME_BYTES && NAME_SHAPE.test(name) && !hasDotSegment(name)
  );
}

export function assertName(name: unknown): asserts name is string {
  if (!isValidName(name)) {
    // The name itself is not echoed: it came from a caller and may be anything.
    fail('E_INVALID_ARGUMENT', 'storage object names are 1–255 characters of [a-z0-9._-/], without empty, "." or ".." segments');
  }
}

/**
 * A list prefix is the empty string or the beginning of some valid name:
 * `data/`, `data/a`. Appending one letter must then give a valid name, which
 * rules out `/x`, `a//`, `../` and foreign characters in one test.
 */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length > MAX_NAME_BYTES) {
    fail('E_INVALID_ARGUMENT', 'a list prefix must be a string of at most 255 characters');
  }
  const probe = `${prefix}a`;
  if (prefix !== '' && !(NAME_SHAPE.test(probe) && !hasDotSegment(probe))) {
    fail('E_INVALID_ARGUMENT', 'a list prefix must be empty or the beginning of a valid object name');
  }
}

export function assertBody(body: unknown): asserts body is Uint8Array {
  if (!(body instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'an object body must be a Uint8Array');
}

export function assertRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  const { offset, length } = range as { offset: unknown; length: unknown };
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < 0) {
    fail('E_INVALID_ARGUMENT', 'a byte range needs a non-negative integer offset and length');
  }
}

export function assertExpectedVersion(version: unknown): asserts version is string | null {
  if (version !== null && (typeof version !== 'string' || version === '')) {
    fail('E_INVALID_ARGUMENT', 'the expected version must be a version string from getVersioned or swap, or null');
  }
}
