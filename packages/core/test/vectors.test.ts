/**
 * Every vector file runs through the library and must give exactly its
 * `expect`: success with the listed outputs, or that error code (format.md §10).
 */
import { afterAll, describe, expect, test } from 'vitest';
import {
  CofferError,
  SealingKey,
  decodeSlotMetadata,
  deriveRecoverySigningKey,
  deriveRepositoryKeys,
  deriveSubkey,
  fromHex,
  openKeyslot,
  parseKeyslot,
  parseRecoveryKey,
  recoverySignInMessage,
  recoverySignInSeed,
  signRecoveryChallenge,
  toHex,
  unlockRepository,
  verifyRecoverySignature,
  type RecoverySignInPurpose,
} from '../src/index.ts';
import { generateVectors } from './vector-generator.ts';
import { type VectorFields, field, secretFromFields } from './vector-file.ts';
import { VECTOR_FILES, loadVectors, vectorName } from './vector-loader.ts';

type Outputs = Record<string, string>;
const runners: Record<string, (fields: VectorFields) => Promise<Outputs>> = {
  async subkeys(f) {
    const keys = await deriveRepositoryKeys(fromHex(field(f, 'root-key')), fromHex(field(f, 'repository-id')));
    return {
      'blob-encryption': toHex(keys.blobEncryption),
      'blob-id': toHex(keys.blobId),
      manifest: toHex(keys.manifest),
      index: toHex(keys.index),
      chunker: toHex(keys.chunker),
      'config-mac': toHex(keys.configMac),
    };
  },
  recoveryKey(f) {
    const key = parseRecoveryKey(field(f, 'input'));
    return Promise.resolve({ secret: toHex(key.secret), text: key.text });
  },
  async keyslotOpen(f) {
    const slot = parseKeyslot(fromHex(field(f, 'keyslot')));
    const rootKey = await openKeyslot(fromHex(field(f, 'repository-id')), slot, secretFromFields(f));
    return { 'root-key': toHex(rootKey) };
  },
  async configOpen(f) {
    const slotId = f.get('slot-id');
    const unlocked = await unlockRepository(fromHex(field(f, 'config')), secretFromFields(f), slotId === undefined ? {} : { slotId: fromHex(slotId) });
    return {
      'root-key': toHex(unlocked.rootKey),
      generation: String(unlocked.config.generation),
      'opened-slot-id': toHex(unlocked.slot.slotId),
      'config-mac-key': toHex(await deriveSubkey(unlocked.rootKey, unlocked.config.repositoryId, 'configMac')),
    };
  },
  async blobOpen(f) {
    const key = await SealingKey.import(fromHex(field(f, 'key')));
    return { plaintext: toHex(await key.open(fromHex(field(f, 'frame')), fromHex(field(f, 'aad')))) };
  },
  slotMetadata(f) {
    const d = decodeSlotMetadata(Number(field(f, 'type')), fromHex(field(f, 'metadata')));
    const m = d.metadata;
    const out: Outputs = { label: m.label, 'created-at': String(m.createdAt), 'last-used-at': String(m.lastUsedAt) };
    if ('credentialId' in m) Object.assign(out, { 'credential-id': toHex(m.credentialId), 'rp-id': m.rpId, 'prf-salt': toHex(m.prfSalt), aaguid: toHex(m.aaguid), provider: m.provider });
    if ('vaultAccount' in m) out['vault-account'] = m.vaultAccount;
    return Promise.resolve(out);
  },
  async recoverySignIn(f) {
    const context = { origin: field(f, 'origin'), purpose: field(f, 'purpose') as RecoverySignInPurpose, challenge: fromHex(field(f, 'challenge')) };
    await verifyRecoverySignature(fromHex(field(f, 'public-key')), context, fromHex(field(f, 'signature')));
    const out: Outputs = { message: toHex(recoverySignInMessage(context)) };
    const text = f.get('recovery-key');
    if (text !== undefined) {
      const recoveryKey = parseRecoveryKey(text);
      const pair = await deriveRecoverySigningKey(recoveryKey);
      Object.assign(out, {
        seed: toHex(await recoverySignInSeed(recoveryKey)),
        'public-key': toHex(pair.publicKey),
        signature: toHex(await signRecoveryChallenge(pair, context)),
      });
    }
    return out;
  },
};

const vectors = loadVectors();
const perKind = new Map<string, number>();

describe('test vectors, one scenario per file', () => {
  test('there are vectors of every kind', () => {
    const kinds = new Set(vectors.map((v) => field(v.fields, 'kind')));
    expect([...kinds].sort()).toEqual(['blob-open', 'config-open', 'keyslot-open', 'recovery-key', 'recovery-sign-in', 'slot-metadata', 'subkeys']);
    expect(vectors.length).toBeGreaterThanOrEqual(60);
  });

  test.each(vectors.map((v) => [v.name, v.fields] as const))('%s', async (_name, fields) => {
    const kind = field(fields, 'kind');
    const runner = runners[kind.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())];
    if (!runner) throw new Error(`no runner for kind ${kind}`);
    const expected = field(fields, 'expect');
    let outputs: Outputs | undefined;
    let code: string | undefined;
    try {
      outputs = await runner(fields);
    } catch (error) {
      if (!(error instanceof CofferError)) throw error;
      code = error.code;
    }
    if (expected === 'success') {
      expect(code).toBeUndefined();
      for (const [key, value] of Object.entries(outputs ?? {})) expect(value, key).toBe(fields.get(key));
    } else {
      expect(outputs, 'no output may be released for a failing vector').toBeUndefined();
      expect(code).toBe(expected);
    }
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
  });

  test('the committed files are exactly what the seeded generator produces', async () => {
    const generated = await generateVectors();
    const committed = new Map(Object.entries(VECTOR_FILES).map(([path, text]) => [vectorName(path), text]));
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) expect(committed.get(name), name).toBe(text);
  });

  afterAll(() => {
    const summary = [...perKind].map(([kind, count]) => `${kind} ${String(count)}`).join(', ');
    const total = [...perKind.values()].reduce((a, b) => a + b, 0);
    console.log(`[vectors] ${String(total)}/${String(vectors.length)} vector files passed (${summary})`);
  });
});
