/** The process as the CLI sees it: arguments, environment and streams, injectable for tests. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface InStream extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Io {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly stdin: InStream;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
}

export function processIo(): Io {
  return { argv: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}
