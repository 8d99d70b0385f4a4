/**
 * Starts Debian's `rclone serve webdav` on a free loopback port for
 * storage-webdav.test.ts. rclone is a system package, not an npm one:
 * scripts/ensure-rclone.ts installs it, and without it the tests fail loudly
 * instead of skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export const RCLONE = process.env.COFFER_RCLONE ?? '/usr/bin/rclone';

export interface RunningWebDav {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => {
    resolve();
  }));
  return port;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Polls until rclone answers; false if it exited first (the port was taken between probe and bind). */
async function ready(child: ChildProcess, url: string, headers: Record<string, string>): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const response = await fetch(url, { method: 'PROPFIND', headers: { ...headers, Depth: '0' } });
      await response.body?.cancel();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error('rclone serve webdav did not answer within 15 s');
}

export async function startWebDav(directory: string, username: string, password: string): Promise<RunningWebDav> {
  if (!existsSync(RCLONE)) {
    throw new Error(`${RCLONE} is missing: the WebDAV tests need Debian's rclone. Run 'node scripts/ensure-rclone.ts' (or 'apt-get install rclone').`);
  }
  const headers = { Authorization: `Basic ${btoa(`${username}:${password}`)}` };
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const child = spawn(
      RCLONE,
      ['serve', 'webdav', directory, '--addr', `127.0.0.1:${String(port)}`, '--user', username, '--pass', password, '--config', '/dev/null', '--log-level', 'ERROR'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const url = `http://127.0.0.1:${String(port)}/`;
    if (await ready(child, url, headers)) return { url, port, stop: () => stopChild(child) };
    await stopChild(child);
  }
  throw new Error('rclone serve webdav could not bind a free port in 3 tries');
}
