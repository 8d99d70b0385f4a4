import { CofferError, isCofferError, type CofferErrorCode } from '@coffer/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/** The HTTP status for each code the API answers with. */
const STATUS: Partial<Record<CofferErrorCode, number>> = {
  E_BAD_REQUEST: 400,
  E_INVALID_ARGUMENT: 400,
  E_FORMAT: 400,
  E_CHALLENGE: 400,
  E_WEBAUTHN_REJECTED: 400,
  E_UNAUTHENTICATED: 401,
  E_VAULT_LOGIN_FAILED: 401,
  E_FORBIDDEN: 403,
  E_STEP_UP_REQUIRED: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_LAST_UNLOCK_METHOD: 409,
  E_RATE_LIMITED: 429,
  E_TOO_LARGE: 413,
  E_STORAGE_NOT_FOUND: 404,
  E_STORAGE_EXISTS: 409,
  E_STORAGE_PRECONDITION: 412,
  E_STORAGE_FULL: 507,
};

/**
 * Failures of the server's own blob storage (S3 or disk), not of the request: retries used up,
 * a permanent backend error, the server's credentials refused. The client gets a 503 it may retry
 * and a generic message; the detail, which may name buckets or paths, goes to the log.
 */
const BACKEND_FAILURES = new Set<CofferErrorCode>(['E_STORAGE_UNAVAILABLE', 'E_STORAGE_FAILED', 'E_STORAGE_DENIED']);

/** Throws the API error `code`; route handlers use it so every failure has a stable code. */
export function apiError(code: CofferErrorCode, message: string): never {
  throw new CofferError(code, message);
}

/** The JSON schema of every error body, for the OpenAPI document. */
export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/**
 * One error handler: CofferErrors keep their code; schema failures become
 * E_BAD_REQUEST; anything else is E_SERVER with a generic message (the detail
 * goes to the log, never to the client: it might name internals).
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isCofferError(error) && BACKEND_FAILURES.has(error.code)) {
      request.log.error({ err: error }, 'blob storage failed');
      return reply.status(503).send({ error: { code: 'E_STORAGE_UNAVAILABLE', message: 'The server could not reach its storage; try again later.' } });
    }
    if (isCofferError(error)) {
      const status = STATUS[error.code] ?? 400;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.status(status).send({ error: { code: error.code, message: error.message } });
    }
    if (error.validation) {
      return reply.status(400).send({ error: { code: 'E_BAD_REQUEST', message: error.message } });
    }
    if (error.statusCode === 429) {
      return reply.status(429).send({ error: { code: 'E_RATE_LIMITED', message: 'Too many requests; wait before trying again.' } });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: { code: 'E_BAD_REQUEST', message: error.message } });
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.status(500).send({ error: { code: 'E_SERVER', message: 'The server failed unexpectedly.' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'E_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}` } }),
  );
}
