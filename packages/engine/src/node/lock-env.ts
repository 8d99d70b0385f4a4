/** The Node facts a repository lock needs: who we are, and whether a local process still runs. */
import { hostname } from 'node:os';
import type { LockEnvironment } from '../repo/lock.ts';

export function nodeLockEnvironment(): LockEnvironment {
  return {
    host: hostname(),
    pid: process.pid,
    isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        // EPERM: the process exists but belongs to someone else.
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    now: () => Date.now(),
  };
}
