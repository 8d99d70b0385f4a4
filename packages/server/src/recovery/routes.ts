import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { recoveryManageRoutes } from './manage-routes.ts';
import { recoverySignInRoutes } from './sign-in-routes.ts';

/** Every recovery-key route, registered under /api/v1 by app.ts. */
export function recoveryRoutes(app: FastifyInstance, ctx: AppContext): void {
  recoverySignInRoutes(app, ctx);
  recoveryManageRoutes(app, ctx);
}
