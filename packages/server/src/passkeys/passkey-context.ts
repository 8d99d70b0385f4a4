import type { AppContext } from '../context.ts';
import type { PasskeySettings } from './settings.ts';
import type { Passkey } from './store.ts';
import type { RelyingParty } from './verify.ts';

/** What the passkey route modules share: the app context, the relying party and the area's settings. */
export interface PasskeyContext extends AppContext {
  readonly rp: RelyingParty;
  readonly settings: PasskeySettings;
}

/** The browser-side timeout put into the options; the stored challenge lives longer (config.challengeTtlMs). */
export const CEREMONY_TIMEOUT_MS = 60_000;

/** A passkey as the API shows it: no public key, the provider named from the AAGUID. */
export function passkeyInfo(ctx: PasskeyContext, p: Passkey) {
  return {
    id: p.id,
    name: p.name,
    provider: ctx.settings.providers.nameOf(p.aaguid),
    aaguid: p.aaguid,
    createdAt: p.createdAt,
    lastUsedAt: p.lastUsedAt,
    backupEligible: p.backupEligible,
    backedUp: p.backedUp,
    transports: p.transports,
  };
}
