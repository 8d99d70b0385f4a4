import { readFileSync } from 'node:fs';
import { CofferError } from '@coffer/core';

/**
 * Passkey provider names from the authenticator's AAGUID, for the passkey
 * list ("iCloud Keychain, added 3 May"). A few well-known providers are
 * written here by hand; an operator can add or override names with a JSON
 * file (COFFER_AAGUID_FILE), either `{ "<aaguid>": "Name" }` or the community
 * list's shape `{ "<aaguid>": { "name": "Name", ... } }`. Nothing is fetched
 * at run time. Unknown AAGUIDs (and the all-zero one) are just "Passkey".
 */
export const UNKNOWN_PROVIDER = 'Passkey';

const WELL_KNOWN: Readonly<Record<string, string>> = {
  'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4': 'Google Password Manager',
  'adce0002-35bc-c60a-648b-0b25f1f05503': 'Chrome on Mac',
  'fbfc3007-154e-4ecc-8c0b-6e020557d7bd': 'iCloud Keychain',
  'dd4ec289-e01d-41c9-bb89-70fa845d4bf2': 'iCloud Keychain (Managed)',
  '08987058-cadc-4b81-b6e1-30de50dcbe96': 'Windows Hello',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9': 'Windows Hello',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2': 'Windows Hello',
  'bada5566-a7aa-401f-bd96-45619a55120d': '1Password',
  'd548826e-79b4-db40-a3d8-11116f7e8349': 'Bitwarden',
  '531126d6-e717-415c-9320-3d9aa6981239': 'Dashlane',
  '53414d53-554e-4700-0000-000000000000': 'Samsung Pass',
  'fdb141b2-5d84-443e-8a35-4698c205a502': 'KeePassXC',
  '50726f74-6f6e-5061-7373-50726f746f6e': 'Proton Pass',
};

const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_NAME = 64;

export interface ProviderNames {
  nameOf(aaguid: string): string;
}

export function providerNames(extra: Readonly<Record<string, string>> = {}): ProviderNames {
  const table = new Map(Object.entries({ ...WELL_KNOWN, ...extra }));
  return { nameOf: (aaguid) => table.get(aaguid.toLowerCase()) ?? UNKNOWN_PROVIDER };
}

/** Reads an operator's AAGUID file; a bad file stops the server at start-up rather than mislabelling passkeys. */
export function loadProviderFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CofferError('E_INVALID_ARGUMENT', `COFFER_AAGUID_FILE ${path} is not a readable JSON file`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CofferError('E_INVALID_ARGUMENT', `COFFER_AAGUID_FILE ${path} must hold a JSON object keyed by AAGUID`);
  }
  const names: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const aaguid = key.toLowerCase();
    const name = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : undefined;
    if (!AAGUID.test(aaguid) || typeof name !== 'string' || name.trim() === '') {
      throw new CofferError('E_INVALID_ARGUMENT', `COFFER_AAGUID_FILE ${path}: entry "${key.slice(0, 40)}" needs an AAGUID key and a name`);
    }
    // Names reach the UI and the log: printable characters only, bounded length.
    names[aaguid] = name.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '').trim().slice(0, MAX_NAME);
  }
  return names;
}
