export * from './backup.ts';
export * from './restore.ts';
export * from './zstd-codec.ts';
export * from './node-crypto.ts';
export * from './bulk-pool.ts';
export * from './lock-env.ts';
export * from './freshness-file.ts';
export * from './local-storage.ts';
export type { LocalFs } from './local-fs.ts';
