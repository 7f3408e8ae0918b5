import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret, newId, serializeEnvelope, signatureHeaders } from '@herald/protocol';
import { expect, it } from 'vitest';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

it('the example receiver accepts a signed webhook, handles it, and refuses a forged one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-example-'));
  const secret = generateSecret();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: '0', INBOX: join(dir, 'inbox.db') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /listening on (http:\/\/\S+)\/webhooks/.exec(output);
        if (match) {
          clearInterval(timer);
          resolve(match[1]!);
        }
      }, 20);
      child.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`The example exited with ${code} (run \`npm run build\` first):\n${output}`));
      });
    });
    const id = newId('event');
    const body = serializeEnvelope({
      id,
      type: 'sync.completed',
      occurred_at: new Date().toISOString(),
      connection_id: 'con_example',
      endpoint_id: 'ep_example',
      sequence: 1,
      data: { rows: 42 },
    });
    const headers = signatureHeaders({
      scheme: 'standard-webhooks',
      secrets: [secret],
      id,
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    const ok = await fetch(`${url}/webhooks`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    });
    expect(ok.status).toBe(200);
    const forged = await fetch(`${url}/webhooks`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: body.replace('42', '43'),
    });
    expect(forged.status).toBe(401);
    const deadline = Date.now() + 10_000;
    while (!output.includes(`sync.completed ${id} for con_example`) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(output).toContain(`sync.completed ${id} for con_example (sequence 1)`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('herald_receiver_processed_total{type="sync.completed"} 1');
    expect(metrics).toContain('herald_receiver_rejected_total{reason="no_matching_signature"} 1');
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
