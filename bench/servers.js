import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Child processes for the benchmarks, so that each server has a core of its own. */

export const HERE = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Spawns a node script that prints `listening <port>` and resolves with its URL and a stop(). */
export function spawnListening(args, env = {}, pattern = /listening (\d+)|running on http:\/\/[^:]+:(\d+)/) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
        resolve({
          url: `http://127.0.0.1:${match[1] ?? match[2]}`,
          child,
          output: () => output,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.on('exit', r);
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => {
      output += c.toString();
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`)));
  });
}

export const HERALD = HERE('../packages/server/bin/herald.js');
export const BARE_FASTIFY = HERE('./bare-fastify.js');
export const COUNTING_RECEIVER = HERE('./counting-receiver.js');
