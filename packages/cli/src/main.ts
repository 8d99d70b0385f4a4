/**
 * The `coffer` process: run the command line, exit with its code. On SIGINT or
 * SIGTERM, release what the command holds (locks), say so, and exit with
 * 128 + the signal number; a second signal exits at once. A reader that goes
 * away (`coffer ls | head`) ends the process quietly; anything unexpected is
 * reported like any other error, without a stack trace unless COFFER_DEBUG=1.
 */
// First: it configures libuv's thread pool before any module can start using it.
import './threadpool.ts';
import { run, runningOutput } from './cli.ts';
import { runCleanup } from './cleanup.ts';
import { EXIT, Interrupted } from './exit-codes.ts';
import { processIo } from './io.ts';

const CLEANUP_TIMEOUT_MS = 10_000;
const state = { stopping: false };

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  const code = signal === 'SIGINT' ? EXIT.interruptedInt : EXIT.interruptedTerm;
  if (state.stopping) process.exit(code);
  state.stopping = true;
  const output = runningOutput();
  output?.error(new Interrupted(signal));
  // Whatever the interrupted command still prints (errors from work cut short) is noise now.
  output?.mute();
  const timeout = setTimeout(() => process.exit(code), CLEANUP_TIMEOUT_MS);
  timeout.unref();
  void runCleanup().finally(() => process.exit(code));
}

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(state.stopping ? EXIT.interruptedInt : EXIT.ok);
  });
}

function onUnexpected(error: unknown): void {
  // Work cut short by a signal may fail on its way out; the signal's exit code stands.
  if (state.stopping) return;
  state.stopping = true;
  const output = runningOutput();
  if (output) output.error(error);
  else process.stderr.write(`coffer: ${error instanceof Error ? error.message : String(error)}\n`);
  void runCleanup().finally(() => process.exit(EXIT.failure));
}

process.on('uncaughtException', onUnexpected);
process.on('unhandledRejection', onUnexpected);

process.on('SIGINT', () => {
  onSignal('SIGINT');
});
process.on('SIGTERM', () => {
  onSignal('SIGTERM');
});

const code = await run(processIo());
if (!state.stopping) process.exit(code);
