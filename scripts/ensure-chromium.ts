/**
 * The browser tests drive Debian's Chromium; a test tool must never download a
 * browser of its own. When /usr/bin/chromium is missing, install the Debian
 * package (as root, or through sudo when it is there), and say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.COFFER_CHROMIUM ?? '/usr/bin/chromium';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    console.error(`ensure-chromium: '${command} ${args.join(' ')}' failed (exit ${String(result.status)})`);
    process.exit(1);
  }
}

if (existsSync(chromium)) {
  process.exit(0);
}
if (process.env.COFFER_CHROMIUM !== undefined) {
  console.error(`ensure-chromium: COFFER_CHROMIUM points to ${chromium}, which does not exist`);
  process.exit(1);
}
const isRoot = process.getuid?.() === 0;
if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
  console.error('ensure-chromium: /usr/bin/chromium is missing; install it with: sudo apt-get install chromium');
  process.exit(1);
}
console.log('ensure-chromium: /usr/bin/chromium is missing; installing Debian\'s chromium package');
const command = isRoot ? 'apt-get' : 'sudo';
const prefix = isRoot ? [] : ['-n', 'apt-get'];
run(command, [...prefix, 'update', '-qq']);
run(command, [...prefix, 'install', '-y', '-qq', '--no-install-recommends', 'chromium']);
if (!existsSync(chromium)) {
  console.error('ensure-chromium: the chromium package installed, but /usr/bin/chromium is still missing');
  process.exit(1);
}
