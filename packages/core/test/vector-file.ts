/**
 * The vector file format (format.md §10): `name: value` lines, `#` comments.
 * Shared by the generator (which writes files) and the tests (which read them).
 */
import { type UnlockSecret, fromHex, parseRecoveryKey } from '../src/index.ts';
export type VectorFields = ReadonlyMap<string, string>;

export function parseVectorFile(text: string, name: string): VectorFields {
  const fields = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(': ');
    if (colon <= 0) throw new Error(`${name}:${String(index + 1)}: expected "name: value"`);
    const key = line.slice(0, colon);
    if (fields.has(key)) throw new Error(`${name}:${String(index + 1)}: duplicate field ${key}`);
    fields.set(key, line.slice(colon + 2));
  }
  for (const required of ['kind', 'description', 'expect']) {
    if (!fields.has(required)) throw new Error(`${name}: missing field ${required}`);
  }
  return fields;
}

export function serializeVectorFile(fields: readonly (readonly [string, string])[]): string {
  return `${fields.map(([key, value]) => `${key}: ${value}`).join('\n')}\n`;
}

export function field(fields: VectorFields, key: string): string {
  const value = fields.get(key);
  if (value === undefined) throw new Error(`vector has no field ${key}`);
  return value;
}

/** The unlock secret a vector names, by which fields it has (format.md §10). */
export function secretFromFields(fields: VectorFields): UnlockSecret {
  const prf = fields.get('prf-output');
  const share = fields.get('server-share');
  const exportKey = fields.get('export-key');
  const vaultShare = fields.get('vault-share');
  const recovery = fields.get('recovery-key');
  if (prf !== undefined && share !== undefined) return { type: 'passkey-hybrid', prfOutput: fromHex(prf), serverShare: fromHex(share) };
  if (prf !== undefined) return { type: 'passkey-portable', prfOutput: fromHex(prf) };
  if (exportKey !== undefined && vaultShare !== undefined) return { type: 'password', exportKey: fromHex(exportKey), vaultShare: fromHex(vaultShare) };
  if (recovery !== undefined) return { type: 'recovery-key', recoveryKey: parseRecoveryKey(recovery) };
  throw new Error('vector names no unlock secret');
}
