import { expect, test } from 'vitest';
import { generateRecoveryKey, parseRecoveryKey } from '../src/index.ts';

test('recovery key round trip', () => {
  const key = generateRecoveryKey();
  expect(parseRecoveryKey(key.text).text).toBe(key.text);
  console.log('runtime', typeof window === 'undefined' ? 'node' : navigator.userAgent);
});
