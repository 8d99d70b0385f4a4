import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { manageRoutes } from './manage-routes.ts';
import type { PasskeyContext } from './passkey-context.ts';
import { registrationRoutes } from './registration-routes.ts';
import { loadPasskeySettings, type PasskeySettings } from './settings.ts';
import { shareRoutes } from './share-routes.ts';
import { signInRoutes } from './sign-in-routes.ts';
import { stepUpRequestRoutes } from '../step-up/routes.ts';

/**
 * Every passkey route, registered under /api/v1 by app.ts: registration,
 * sign-in and step-up ceremonies (and step-ups confirmed in a browser for
 * another device), passkey management and hybrid-slot shares.
 */
export function passkeyRoutes(app: FastifyInstance, ctx: AppContext, settings: PasskeySettings = loadPasskeySettings()): void {
  const pctx: PasskeyContext = { ...ctx, rp: { rpId: ctx.config.rpId, origin: ctx.config.origin }, settings };
  registrationRoutes(app, pctx);
  signInRoutes(app, pctx);
  manageRoutes(app, pctx);
  shareRoutes(app, pctx);
  stepUpRequestRoutes(app, pctx);
}
