/**
 * More threads for libuv's pool than its default four. The engine keeps many file operations in
 * flight at once — reads ahead of the chunker, direct writes and fsyncs of several packs (this
 * disk flushes eight files at once four times sooner than one after another), a restore's
 * reads and writes — and each blocks a pool thread until the disk answers; with four, they
 * queue behind each other. Idle threads cost nothing. Must run before anything uses the pool:
 * main.ts imports this module first.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
