import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { responseValidator } from './openapi-validator.js';

/** The built `herald` command, as a user runs it (npm test builds it first). */
export const HERALD_BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

export interface HeraldProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed, for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** The first admin key (HERALD_BOOTSTRAP_KEY) of the processes the system tests start. */
export const PROCESS_ADMIN_KEY = 'hk_system_test_admin_key_000000000000000000000';

/** Calls a process's API with the admin key; `T` is the body the caller expects back. */
// biome-ignore lint/suspicious/noExplicitAny: as harness.ts's request: untyped bodies keep the system tests terse.
export async function api<T = any>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${PROCESS_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as T;
  // The system tests' answers must be what the OpenAPI document says too (openapi-validator.ts).
  const problems = responseValidator().problems(
    method,
    path,
    response.status,
    response.headers.get('content-type'),
    parsed,
  );
  if (problems.length > 0) throw new Error(`The response is not as docs/openapi.json says:\n${problems.join('\n')}`);
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Starts `herald <role> <args>` and resolves once it prints the address it listens on. */
export function spawnHerald(role: string, args: string[], env: Record<string, string> = {}): Promise<HeraldProcess> {
  const child = spawn(process.execPath, [HERALD_BIN, role, '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald ${role} did not start in 15 s:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ url: match[1], child, output: () => output, exited });
      } else if (role === 'worker' && /Herald worker running/.test(output)) {
        clearTimeout(timer);
        resolve({ url: '', child, output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`herald ${role} exited (${code}) before it listened:\n${output}`));
    });
  });
}
