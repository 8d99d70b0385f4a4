/**
 * One WebDAV request with `fetch`: Basic auth, a timeout, and network
 * failures turned into TransientError. Statuses are left to the caller, which
 * knows which ones are answers (404 on get, 412 on MOVE) and which are errors.
 */
import { TransientError } from './retry.ts';

export interface DavRequest {
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
}

export interface DavClientOptions {
  readonly username?: string;
  readonly password?: string;
  readonly fetch?: typeof fetch;
  readonly requestTimeoutMs?: number;
}

export class DavClient {
  readonly #authorization: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: DavClientOptions) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.requestTimeoutMs ?? 120_000;
    if (options.username !== undefined) {
      // Basic auth is base64 of the UTF-8 bytes (RFC 7617 §2.1); btoa wants one char per byte.
      const bytes = new TextEncoder().encode(`${options.username}:${options.password ?? ''}`);
      this.#authorization = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    }
  }

  /** `what` names the operation in errors; it must not contain secrets. */
  async send(what: string, method: string, url: string, request: DavRequest = {}): Promise<Response> {
    const headers: Record<string, string> = { ...request.headers };
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization;
    try {
      return await this.#fetch(url, {
        method,
        headers,
        ...(request.body === undefined ? {} : { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      // fetch rejects only when no response came: refused, reset, DNS, timeout.
      throw new TransientError(`${what}: ${error instanceof Error ? `${error.name} ${causeCode(error)}`.trim() : 'network error'}`, { cause: error });
    }
  }
}

function causeCode(error: Error): string {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** Reads and drops a body we do not need, so the connection can be reused. */
export async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
