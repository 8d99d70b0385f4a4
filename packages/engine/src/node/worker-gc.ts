/**
 * Minor garbage collections in the pack workers, every few MiB of output.
 *
 * node:crypto returns every cipher output and digest as a new Buffer; a worker seals a gigabyte
 * through them and allocates almost nothing else. V8 reclaims young ArrayBuffers in a scavenge,
 * but scavenges when its JS heap fills — which the small Buffer objects hardly do — or when
 * 64 MiB of external memory has piled up. Measured: each worker kept about that much of dead
 * output alive, and malloc's arena for the thread grew to match (≈60 MiB per worker, a third of
 * the process's resident memory). A minor GC every 8 MiB keeps it to a few MiB, for about a
 * millisecond each.
 *
 * `gc` is only reachable through --expose-gc; setting the flag at run time makes it available
 * to contexts created afterwards (here, one vm context). Where that fails, this is a no-op.
 *
 * The flag is set back at once. V8 flags are process-wide, and V8 accepts a code cache only when
 * the flags match the ones it was made under: left set, the flag made every thread compile each
 * Node built-in it loaded afterwards from source, and our own modules too, instead of taking them
 * from Node's embedded cache and the compile cache. Measured here: a worker loading zlib, crypto,
 * streams and vm took 21–22 ms instead of 13 ms, and a pack worker's start grew by ≈40 ms. The
 * `gc` function taken meanwhile keeps working.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options: { type: 'minor' }) => void;

const EXPOSE_ATTEMPTS = 100;

function exposeGc(): Collect | undefined {
  // Started with --expose-gc: the flag is the user's, and gc is already here.
  const own: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Collect;
  // Workers start together and the flag is process-wide: another worker may set it back between
  // this one setting it and creating its context (measured: 14 of 40 workers, started four at a
  // time, got no gc and never collected). That worker simply tries again.
  for (let attempt = 0; attempt < EXPOSE_ATTEMPTS; attempt++) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof gc === 'function') return gc as Collect;
    } catch {
      return undefined;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  return undefined;
}

const collect = exposeGc();
/** Whether minor collections can be asked for here (for tests). */
export const collects = collect !== undefined;
const EVERY_BYTES = 8 * 1024 * 1024;
let since = 0;

/** Counts bytes of garbage made; collects the young generation every 8 MiB. */
export function madeGarbage(bytes: number): void {
  since += bytes;
  if (since < EVERY_BYTES) return;
  since = 0;
  collect?.({ type: 'minor' });
}
