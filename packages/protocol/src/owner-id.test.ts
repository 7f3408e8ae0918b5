import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isEndedLocalOwner, newOwnerId } from './owner-id.js';

describe('owner ids', () => {
  it('name this host and process, and tell two owners of one process apart', () => {
    const a = newOwnerId();
    expect(a.startsWith(`${hostname()}:${process.pid}:`)).toBe(true);
    expect(newOwnerId()).not.toBe(a);
  });

  it('tell a process on this host that has ended from one that runs, and never judge another host', () => {
    const ended = spawnSync(process.execPath, ['-e', '0']).pid;
    expect(isEndedLocalOwner(`${hostname()}:${ended}:x`)).toBe(true);
    expect(isEndedLocalOwner(`${hostname()}:${process.ppid}:x`)).toBe(false);
    expect(isEndedLocalOwner(`another-host:${ended}:x`)).toBe(false);
    expect(isEndedLocalOwner('not an owner id')).toBe(false);
  });

  it("call an owner with this process's pid ended when it is not one of the live ones (a container restarted as the same pid)", () => {
    const mine = newOwnerId();
    const earlier = `${hostname()}:${process.pid}:earlier`;
    expect(isEndedLocalOwner(earlier)).toBe(false);
    expect(isEndedLocalOwner(earlier, new Set([mine]))).toBe(true);
    expect(isEndedLocalOwner(mine, new Set([mine]))).toBe(false);
  });
});
