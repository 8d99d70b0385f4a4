/** Reads a line from the terminal without echoing it (for a recovery key typed by hand). */
import { Interrupted } from './exit-codes.ts';
import type { Io } from './io.ts';

const ENTER = new Set(['\r', '\n', '\u0004']);
const BACKSPACE = new Set(['\u007f', '\b']);

export async function promptHidden(io: Io, question: string): Promise<string> {
  const { stdin } = io;
  io.stderr.write(question);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string | Buffer): void => {
        for (const char of String(chunk)) {
          if (char === '\u0003') {
            stdin.off('data', onData);
            reject(new Interrupted('SIGINT'));
            return;
          }
          if (ENTER.has(char)) {
            stdin.off('data', onData);
            resolve(typed);
            return;
          }
          if (BACKSPACE.has(char)) typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}
