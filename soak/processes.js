import { spawn } from 'node:child_process';

/** Every child this run started, so that an interrupted run leaves none behind. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
// Ctrl-C ends the run through 'exit' above, not around it (a signal's default skips 'exit' handlers).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const TAIL = 20_000;

/**
 * Spawns `node <args>` and resolves once its output matches `ready` (the port it listens on, or the
 * worker's banner). Rejects when it exits or stays silent for `timeoutMs`.
 */
export function spawnReady(args, env, ready, timeoutMs = 20_000) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${args.join(' ')} did not start in ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk) => {
      output = (output + chunk.toString()).slice(-TAIL);
      const match = ready.exec(output);
      if (match) finish(null, { child, port: match[1], output: () => output, exited });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) =>
      finish(new Error(`${args.join(' ')} exited (${code}) before it was ready:\n${output.slice(-2000)}`)),
    );
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One process of the soak that chaos may kill: `start` spawns it (spawnReady's result). start()
 * retries while the process cannot start (e.g. its database is down), up to `startAttempts` times a
 * second apart. A process that exits without being killed is a finding: its output is kept in
 * `failures`, and it is started again.
 */
export function supervise(kind, start, { startAttempts = 60 } = {}) {
  let current;
  let starting = null;
  let stopped = false;
  const failures = [];

  const startLoop = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = await start();
        current = started;
        started.exited.then((code) => {
          if (started.killed) return;
          failures.push(`${kind} exited (${code}) on its own:\n${started.output().slice(-3000)}`);
          if (current === started) current = undefined;
          if (!stopped) self.start().catch((error) => failures.push(`${kind} did not start again: ${error.message}`));
        });
        return;
      } catch (error) {
        if (attempt >= startAttempts || stopped) throw error;
        await sleep(1000);
      }
    }
  };

  const self = {
    kind,
    failures,
    /** The process's base URL while it is running (undefined for workers and while down). */
    get url() {
      return current && current.child.exitCode === null && current.port
        ? `http://127.0.0.1:${current.port}`
        : undefined;
    },
    start() {
      starting ??= startLoop().finally(() => {
        starting = null;
      });
      return starting;
    },
    /** Starts it unless it is running (or starting) now. */
    async ensureRunning() {
      if (starting) return starting;
      if (current && current.child.exitCode === null) return;
      return self.start();
    },
    /** kill -9; resolves once the process is gone. */
    async kill9() {
      await starting;
      const victim = current;
      current = undefined;
      if (!victim || victim.child.exitCode !== null) return false;
      victim.killed = true;
      victim.child.kill('SIGKILL');
      await victim.exited;
      return true;
    },
    /** SIGTERM, then SIGKILL after `graceMs`; no restart after this. */
    async stop(graceMs = 10_000) {
      stopped = true;
      await starting?.catch(() => {});
      const victim = current;
      current = undefined;
      if (!victim || victim.child.exitCode !== null) return;
      victim.killed = true;
      victim.child.kill('SIGTERM');
      const timer = setTimeout(() => victim.child.kill('SIGKILL'), graceMs);
      await victim.exited;
      clearTimeout(timer);
    },
  };
  return self;
}
