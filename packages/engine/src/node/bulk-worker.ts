/**
 * A worker thread of the bulk pool: MACs, seals and opens blob frames off the
 * main thread, so reading and chunking on the main thread overlap with
 * crypto on the other core. Results are transferred back without copying.
 */
import { createHmac } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { CofferError } from '@coffer/core';
import { openFrameSync, sealFrameSync } from './node-crypto.ts';
import type { BulkRequest, BulkResponse } from './bulk-pool.ts';

function run(request: BulkRequest): Uint8Array {
  switch (request.op) {
    case 'hmac': {
      const mac = createHmac('sha256', request.key).update(request.data).digest();
      return new Uint8Array(mac.buffer, mac.byteOffset, mac.length);
    }
    case 'seal':
      return sealFrameSync(request.key, request.data, request.aad);
    case 'open':
      return openFrameSync(request.key, request.data, request.aad);
  }
}

parentPort?.on('message', (request: BulkRequest) => {
  let response: BulkResponse;
  try {
    const result = run(request);
    // A result that owns its whole buffer can be moved instead of copied.
    const movable = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength && result.buffer instanceof ArrayBuffer;
    response = { id: request.id, result };
    parentPort?.postMessage(response, movable ? [result.buffer] : []);
    return;
  } catch (error) {
    response = {
      id: request.id,
      error: error instanceof CofferError ? { code: error.code, message: error.message } : { message: error instanceof Error ? error.message : String(error) },
    };
  }
  parentPort?.postMessage(response);
});
