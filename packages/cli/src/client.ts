/**
 * The server SDK, loaded when a command first talks to a Coffer server. Imported up front it
 * cost every command — a local backup or restore too — about 22 MiB of memory (OPAQUE's
 * WebAssembly, WebAuthn) and 130 ms of start-up.
 */
export function loadClient(): Promise<typeof import('@coffer/client')> {
  return import('@coffer/client');
}
