/**
 * The WebDAV storage tests drive Debian's rclone (`rclone serve webdav`); it
 * is a system package, not an npm one. When /usr/bin/rclone is missing,
 * install the Debian package (as root, or through sudo when it is there), and
 * say so. Modelled on ensure-chromium.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const rclone = process.env.COFFER_RCLONE ?? '/usr/bin/rclone';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    console.error(`ensure-rclone: '${command} ${args.join(' ')}' failed (exit ${String(result.status)})`);
    process.exit(1);
  }
}

if (existsSync(rclone)) {
  process.exit(0);
}
if (process.env.COFFER_RCLONE !== undefined) {
  console.error(`ensure-rclone: COFFER_RCLONE points to ${rclone}, which does not exist`);
  process.exit(1);
}
const isRoot = process.getuid?.() === 0;
if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
  console.error('ensure-rclone: /usr/bin/rclone is missing; install it with: sudo apt-get install rclone');
  process.exit(1);
}
console.log('ensure-rclone: /usr/bin/rclone is missing; installing Debian\'s rclone package');
const command = isRoot ? 'apt-get' : 'sudo';
const prefix = isRoot ? [] : ['-n', 'apt-get'];
run(command, [...prefix, 'update', '-qq']);
run(command, [...prefix, 'install', '-y', '-qq', '--no-install-recommends', 'rclone']);
if (!existsSync(rclone)) {
  console.error('ensure-rclone: the rclone package installed, but /usr/bin/rclone is still missing');
  process.exit(1);
}
