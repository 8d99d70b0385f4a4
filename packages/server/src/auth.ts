import type { FastifyReply, FastifyRequest } from 'fastify';
import { createSession, markSteppedUp, sessionByToken, type AuthMethod, type Session, type SessionKind } from './accounts/sessions.ts';
import { clientAddress, deviceOf, type AppContext } from './context.ts';
import { apiError } from './http-errors.ts';

export const SESSION_COOKIE = 'coffer_session';

const resolved = new WeakMap<FastifyRequest, Session | null>();

/** The session the request carries (bearer token first, then the cookie), resolved once per request. */
export async function currentSession(ctx: AppContext, request: FastifyRequest): Promise<Session | undefined> {
  const cached = resolved.get(request);
  if (cached !== undefined) return cached ?? undefined;
  const header = request.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  const token = bearer ?? request.cookies[SESSION_COOKIE];
  const session = token ? await sessionByToken(ctx.db, token) : undefined;
  resolved.set(request, session ?? null);
  return session;
}

export async function requireSession(ctx: AppContext, request: FastifyRequest): Promise<Session> {
  return (await currentSession(ctx, request)) ?? apiError('E_UNAUTHENTICATED', 'Sign in first.');
}

/** A session whose last user-verified proof is at most `stepUpMaxAgeMs` old (5 minutes). */
export async function requireStepUp(ctx: AppContext, request: FastifyRequest): Promise<Session> {
  const session = await requireSession(ctx, request);
  if (session.stepUpAt === null || Date.now() - session.stepUpAt > ctx.config.stepUpMaxAgeMs) {
    apiError('E_STEP_UP_REQUIRED', 'This needs a fresh sign-in with your passkey (or another unlock method) first.');
  }
  return session;
}

export interface IssuedSession {
  sessionId: string;
  expiresAt: number;
  /** Only for bearer sessions: the token, shown once. Cookie sessions never expose it to scripts. */
  token?: string;
}

/** Opens a session after a successful sign-in: an httpOnly SameSite=Strict cookie, or a bearer token. */
export async function issueSession(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  input: { accountId: string; method: AuthMethod; kind: SessionKind; steppedUp: boolean },
): Promise<IssuedSession> {
  const { token, session } = await createSession(ctx.db, {
    ...input,
    device: deviceOf(request),
    clientAddress: clientAddress(request),
    ttlMs: ctx.config.sessionTtlMs,
  });
  if (input.kind === 'bearer') return { sessionId: session.id, expiresAt: session.expiresAt, token };
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: ctx.config.origin.startsWith('https:'),
    path: '/',
    expires: new Date(session.expiresAt),
  });
  return { sessionId: session.id, expiresAt: session.expiresAt };
}

/** Records a user-verified proof on the current session (step-up). */
export async function stepUp(ctx: AppContext, session: Session, method: AuthMethod): Promise<void> {
  await markSteppedUp(ctx.db, session.id, method);
}

/** The body property that picks the session kind on sign-in routes. */
export const sessionKindSchema = { type: 'string', enum: ['cookie', 'bearer'], default: 'cookie' } as const;

/** The response schema of a sign-in that opened a session. */
export const issuedSessionSchema = {
  type: 'object',
  required: ['sessionId', 'expiresAt'],
  properties: { sessionId: { type: 'string' }, expiresAt: { type: 'number' }, token: { type: 'string' } },
} as const;
