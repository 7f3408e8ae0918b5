import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease or took a turn, among all the processes on one database: `host:pid:uuid`.
 * The uuid tells two dispatchers of one process apart; host and pid let a process on the same host
 * tell that the holder has ended (isEndedLocalOwner).
 */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}

/** Whether `owner` (newOwnerId's shape) is a process on this host that no longer runs. */
export function isEndedLocalOwner(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // signal 0: checks without signalling
    return false;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
