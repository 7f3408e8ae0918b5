import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease or took a turn, among all the processes on one database: `host:pid:uuid`. The
 * sender's dispatchers and the receiver's processors both use it. The uuid tells two owners of one
 * process apart; host and pid let a process on the same host tell that the holder has ended
 * (isEndedLocalOwner).
 */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}

/**
 * Whether `owner` (newOwnerId's shape) is a process on this host that no longer runs.
 *
 * With `live`, the owners this process is running now: an owner with this process's own host and
 * pid that is not among them is an earlier process that had the same pid. That is the common case
 * in a container, where the application is pid 1 (or another small fixed pid) after every restart.
 */
export function isEndedLocalOwner(owner: string, live?: ReadonlySet<string>): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return live !== undefined && !live.has(owner);
  try {
    process.kill(pid, 0); // signal 0: checks without signalling
    return false;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
