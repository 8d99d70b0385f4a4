/** Shared by init and the key commands. */
import { type ConfigHeader, type SlotDescription, describeKeyslots, toHex } from '@coffer/core';
import { UsageError } from '../exit-codes.ts';

export const DEFAULT_LABEL = 'Recovery key';

export function recoveryKeyDescription(label: string | undefined): Extract<SlotDescription, { type: 'recovery-key' }> {
  const text = label ?? DEFAULT_LABEL;
  if (new TextEncoder().encode(text).length > 64) throw new UsageError('--label is at most 64 bytes');
  return { type: 'recovery-key', metadata: { label: text, createdAt: Date.now(), lastUsedAt: 0 } };
}

export interface KeyslotJson {
  readonly id: string;
  readonly type: string;
  readonly label: string | null;
  readonly createdAt: string | null;
  readonly lastUsedAt: string | null;
  /** Public details of passkey and password slots. */
  readonly details?: Record<string, string>;
}

export function keyslotsJson(config: ConfigHeader): KeyslotJson[] {
  return describeKeyslots(config).map((slot) => {
    const d = slot.description;
    if (d === undefined) return { id: slot.slotId, type: `unknown (type ${String(slot.typeCode)})`, label: null, createdAt: null, lastUsedAt: null };
    const base = { id: slot.slotId, type: d.type, label: d.metadata.label, createdAt: iso(d.metadata.createdAt), lastUsedAt: iso(d.metadata.lastUsedAt) };
    switch (d.type) {
      case 'passkey-portable':
      case 'passkey-hybrid':
        return { ...base, details: { rpId: d.metadata.rpId, provider: d.metadata.provider, credentialId: Buffer.from(d.metadata.credentialId).toString('base64url') } };
      case 'password':
        return { ...base, details: { vaultAccount: d.metadata.vaultAccount } };
      case 'recovery-key':
        return base;
    }
  });
}

function iso(ms: number): string | null {
  return ms === 0 ? null : new Date(ms).toISOString();
}

/** Resolves a full slot id or an unambiguous prefix of at least 4 hex digits. */
export function resolveSlotId(config: ConfigHeader, reference: string, command: string): string {
  const wanted = reference.toLowerCase();
  if (!/^[0-9a-f]{4,32}$/.test(wanted)) throw new UsageError(`"${reference}" is not a key id (4 to 32 hex digits; see \`coffer key list\`)`, command);
  const matches = config.keyslots.map((s) => toHex(s.slotId)).filter((id) => id.startsWith(wanted));
  if (matches.length === 0) throw new UsageError(`the repository has no key ${reference} (see \`coffer key list\`)`, command);
  if (matches.length > 1) throw new UsageError(`key id ${reference} is ambiguous; give more digits`, command);
  return matches[0] ?? '';
}

/** The options of every command that creates a recovery key (init, key add). */
export const NEW_KEY_OPTIONS = {
  'write-recovery-key': { type: 'string', value: 'FILE', description: 'write the new recovery key to FILE (mode 0600, must not exist yet)' },
  label: { type: 'string', value: 'TEXT', description: 'a label for the key, shown by `coffer key list` (default "Recovery key")' },
} as const;
