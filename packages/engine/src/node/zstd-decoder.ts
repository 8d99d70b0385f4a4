/**
 * zstd frames decoded by one decompression context reused for every blob, straight into the
 * memory their plaintext belongs in. zlib.zstdDecompressSync builds a stream and a context per
 * call: for a restore of 47,000 SQLite pages that set-up cost more than the decoding. Same
 * internals as zstd-encoder.ts (the native handle zlib's synchronous path drives), with the same
 * fallback to the public API if they are missing.
 */
import zlib from 'node:zlib';

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}

interface StreamInternals {
  _handle?: NativeHandle;
  _writeState?: Uint32Array;
}

export class ZstdDecodeError extends Error {}

export class ZstdDecoder {
  #stream: (zlib.ZstdDecompress & StreamInternals) | undefined;
  #error: Error | undefined;

  /** Decodes one frame whose content is exactly `out.length` bytes into `out`; throws ZstdDecodeError otherwise. */
  decodeInto(input: Uint8Array, out: Uint8Array): void {
    const stream = this.#open();
    const handle = stream._handle;
    const state = stream._writeState;
    if (!handle || !(state instanceof Uint32Array)) {
      let plaintext: Buffer;
      try {
        plaintext = zlib.zstdDecompressSync(input, { maxOutputLength: Math.max(out.length, 1) });
      } catch (cause) {
        throw new ZstdDecodeError('does not decompress', { cause });
      }
      if (plaintext.length !== out.length) throw new ZstdDecodeError(`is ${String(plaintext.length)} bytes, the index says ${String(out.length)}`);
      out.set(plaintext);
      return;
    }
    // After a whole frame the context is ready for the next; one that failed is dropped (#drop).
    let inOff = 0;
    let outOff = 0;
    for (;;) {
      handle.writeSync(zlib.constants.ZSTD_e_end, input, inOff, input.length - inOff, out, outOff, out.length - outOff);
      if (this.#failed()) this.#drop('does not decompress');
      const nextOut = out.length - (state[0] as number);
      const nextIn = input.length - (state[1] as number);
      const progressed = nextOut > outOff || nextIn > inOff;
      outOff = nextOut;
      inOff = nextIn;
      if (!progressed || (outOff === out.length && inOff === input.length)) break;
    }
    if (inOff !== input.length || outOff !== out.length) this.#drop(`does not decompress to the ${String(out.length)} bytes the index says`);
    // zstd may hold decoded bytes back when the output is full: one more byte must not come.
    handle.writeSync(zlib.constants.ZSTD_e_end, input, inOff, 0, this.#spare, 0, 1);
    if (state[0] === 0 || this.#failed()) this.#drop(`decompresses to more than the ${String(out.length)} bytes the index says`);
  }

  /** Drops a context left mid-frame (reset() would also rebuild it, at the cost of a new one) and fails. */
  #drop(message: string): never {
    this.#stream?.destroy();
    this.#stream = undefined;
    this.#error = undefined;
    throw new ZstdDecodeError(message);
  }

  readonly #spare = new Uint8Array(1);

  /**
   * Whether the last write failed. zlib destroys the stream at once (its handle is then closed:
   * writing to it again would abort the process) but emits 'error' only on the next tick.
   */
  #failed(): boolean {
    return this.#error !== undefined || this.#stream?.destroyed !== false;
  }

  #open(): zlib.ZstdDecompress & StreamInternals {
    if (!this.#stream) {
      const stream = zlib.createZstdDecompress() as zlib.ZstdDecompress & StreamInternals;
      stream.on('error', (error: Error) => {
        // Emitted a tick late: a stream already replaced must not fail its successor.
        if (this.#stream === stream) this.#error = error;
      });
      this.#stream = stream;
    }
    return this.#stream;
  }
}
