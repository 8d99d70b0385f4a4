/**
 * An HTTP proxy on loopback for fault tests: it sits in front of a real test
 * server (s3rver, rclone) and, per request, passes it on, resets the TCP
 * connection, or answers with a status of its choosing.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * pass: forward; reset: cut the connection before forwarding; lose-reply:
 * forward, let the server act, then cut the connection instead of answering;
 * cut-body: forward the reply's head and the first part of its body, then cut;
 * an object: answer with that status instead of forwarding.
 */
export type FaultAction = 'pass' | 'reset' | 'lose-reply' | 'cut-body' | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> };

export interface FaultProxy {
  readonly port: number;
  /** Requests seen so far, in order: `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(upstreamPort: number, decide: (request: IncomingMessage, index: number) => FaultAction): Promise<FaultProxy> {
  const requests: string[] = [];
  const server = createServer((incoming, outgoing) => {
    const action = decide(incoming, requests.length);
    requests.push(`${incoming.method ?? '?'} ${incoming.url ?? '?'}`);
    if (action === 'reset') {
      incoming.socket.resetAndDestroy();
      return;
    }
    if (typeof action === 'object') {
      // Read the request body first, so the client is not cut off mid-upload.
      incoming.resume();
      incoming.on('end', () => {
        outgoing.writeHead(action.status, { 'content-type': 'application/xml', connection: 'close', ...action.headers });
        outgoing.end(action.body ?? '');
      });
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: upstreamPort, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        if (action === 'lose-reply') {
          response.resume();
          response.on('end', () => incoming.socket.resetAndDestroy());
          return;
        }
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        if (action === 'cut-body') {
          response.once('data', (chunk: Buffer) => {
            outgoing.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => incoming.socket.resetAndDestroy());
            response.destroy();
          });
          return;
        }
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => incoming.socket.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** An S3-style error body. */
export function s3Error(status: number, code: string): FaultAction {
  return { status, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>` };
}
