import { describe, expect, test } from 'vitest';
import { assertName, assertPrefix, isValidName } from '../src/storage/names.ts';

describe('storage names', () => {
  test('valid names', () => {
    for (const name of ['a', 'config', 'data/00/0a1b', 'a.b-c_d/e', '...x', 'x..', 'a/.b', 'x'.repeat(255)]) {
      expect(isValidName(name), name).toBe(true);
    }
  });

  test('invalid names, and the error does not echo them', () => {
    for (const name of ['', '/', '/a', 'a/', 'a//b', '.', '..', 'a/./b', 'a/..', 'Z', 'a:b', 'a?b', 'a#b', 'é', 'x'.repeat(256), 42, null]) {
      expect(isValidName(name), String(name)).toBe(false);
    }
    expect(() => {
      assertName('SECRET-looking/../name');
    }).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT', message: expect.not.stringContaining('SECRET') as unknown }) as Error);
  });

  test('prefixes are the empty string or the beginning of a valid name', () => {
    for (const prefix of ['', 'd', 'data/', 'data/0', 'a.', 'a/..x', 'x'.repeat(255)]) {
      expect(() => {
        assertPrefix(prefix);
      }, prefix).not.toThrow();
    }
    for (const prefix of ['/', 'a//', '../', 'a/../', './', 'A', 'x'.repeat(256)]) {
      expect(() => {
        assertPrefix(prefix);
      }, prefix).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }) as Error);
    }
  });
});
