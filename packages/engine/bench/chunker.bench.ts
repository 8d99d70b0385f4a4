/**
 * Chunker throughput: `npx node packages/engine/bench/chunker.bench.ts [MiB]` from the repository root.
 *
 * Feeds 512 MiB (or the given size) of seeded pseudorandom data in 4 MiB pieces, as a file read
 * would, through (1) the boundary scanner alone and (2) the chunker that also hands out chunks
 * (views, or new buffers for chunks spanning pieces), then (3) the same with 64 KiB pieces, the
 * default read size of a Node file stream, where nearly every chunk spans pieces, and (4) the
 * fixed 4 KiB chunker. Each is run once to warm up the JIT and then ROUNDS times; it prints the
 * median and best MB/s (10^6 bytes) by wall clock and by this process's CPU time. The host may be
 * shared, so the CPU-time figure is the steadier one. Not part of the test suite: timing
 * assertions would flake.
 */
import { DEFAULT_CHUNK_SIZES, GearBoundaries, createChunker, deriveChunkerParams, type ChunkerParams } from '../src/chunker/chunker.ts';
import { createFixedChunker, SQLITE_DEFAULT_PAGE_SIZE } from '../src/chunker/fixed.ts';

const MiB = 1024 * 1024;
const PIECE = 4 * MiB;
const ROUNDS = 7;
const total = Number(process.argv[2] ?? 512) * MiB;

/** xorshift32 over 32-bit words: fast, seeded, and far from any chunker's structure. */
function pseudorandom(length: number, seed: number): Uint8Array {
  const words = new Int32Array(Math.ceil(length / 4));
  let x = seed | 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

interface Sample {
  wall: number;
  cpu: number;
}

function measure(run: () => number): Sample {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const bytes = run();
  const wall = (performance.now() - wall0) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1e6;
  return { wall: bytes / 1e6 / wall, cpu: bytes / 1e6 / cpu };
}

function report(name: string, samples: Sample[]): void {
  const stat = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    return `median ${(sorted[sorted.length >> 1] ?? 0).toFixed(0)}, best ${(sorted.at(-1) ?? 0).toFixed(0)}`;
  };
  console.log(`${name.padEnd(34)} wall MB/s: ${stat(samples.map((s) => s.wall))}   cpu MB/s: ${stat(samples.map((s) => s.cpu))}`);
}

function bench(name: string, run: () => number): void {
  run();
  const samples = Array.from({ length: ROUNDS }, () => measure(run));
  report(name, samples);
}

function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += size) out.push(data.subarray(offset, offset + size));
  return out;
}

function scanOnly(params: ChunkerParams, input: Uint8Array[]): () => number {
  const boundaries = new GearBoundaries(params);
  return () => {
    let bytes = 0;
    for (const piece of input) {
      boundaries.scan(piece);
      bytes += piece.length;
    }
    boundaries.reset();
    return bytes;
  };
}

function chunked(make: () => { push(piece: Uint8Array): Uint8Array[]; finish(): Uint8Array[] }, input: Uint8Array[]): () => number {
  const chunker = make();
  return () => {
    let bytes = 0;
    for (const piece of input) for (const chunk of chunker.push(piece)) bytes += chunk.length;
    for (const chunk of chunker.finish()) bytes += chunk.length;
    return bytes;
  };
}

const key = pseudorandom(32, 0x5eed);
const params = await deriveChunkerParams(key, DEFAULT_CHUNK_SIZES);
const data = pseudorandom(total, 0x9e3779b9);
const input = pieces(data, PIECE);
const chunkCount = chunked(() => createChunker(params), input)();
console.log(`node ${process.version}, ${String(total / MiB)} MiB in ${String(PIECE / MiB)} MiB pieces, sizes 512 KiB / 1 MiB / 8 MiB`);
bench('content-defined: boundaries only', scanOnly(params, input));
bench('content-defined: chunks', chunked(() => createChunker(params), input));
bench('content-defined: chunks, 64 KiB pieces', chunked(() => createChunker(params), pieces(data, 64 * 1024)));
bench('fixed 4 KiB: chunks', chunked(() => createFixedChunker(SQLITE_DEFAULT_PAGE_SIZE), input));
console.log(`(checksum: ${String(chunkCount)} bytes chunked)`);
