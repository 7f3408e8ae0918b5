import { Agent, createServer, request } from 'node:http';

/**
 * The chaotic receiver: an HTTP proxy on loopback in front of the receiving processes, at the one
 * URL the endpoint keeps while the receivers behind it are killed and restarted (each restart
 * listens on a new port). While chaos is on, a share of the requests is spoiled on purpose, in the
 * ways a real network and a real receiver fail:
 *
 * - `error`: 500 at once, the receiver never sees the webhook;
 * - `reset`: the connection dropped before the receiver sees it;
 * - `slow`: forwarded after 0.2–2.5 s;
 * - `lost_answer`: forwarded and stored, then the connection dropped instead of the 200;
 * - `replaced_answer`: forwarded and stored, then answered 500: Herald must send it again and the
 *   receiver must recognise it;
 * - `timeout`: forwarded, then the answer held past Herald's 10 s attempt timeout.
 *
 * Never 410: that disables the endpoint, which is Herald doing as told, not losing an event.
 */
const SPOILS = [
  ['error', 0.06],
  ['reset', 0.04],
  ['slow', 0.06],
  ['lost_answer', 0.03],
  ['replaced_answer', 0.03],
  ['timeout', 0.003],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** backends(): the URLs of the receivers alive now (may be empty while they restart). */
export async function startChaosProxy({ backends, random = Math.random }) {
  const counts = Object.fromEntries([...SPOILS.map(([name]) => [name, 0]), ['forwarded', 0], ['no_backend', 0]]);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  let chaos = true;
  let turn = 0;

  const pick = () => {
    if (!chaos) return 'pass';
    let r = random();
    for (const [name, share] of SPOILS) {
      if (r < share) return name;
      r -= share;
    }
    return 'pass';
  };

  /** Forwards the buffered request to a live receiver; resolves with its answer, or null when it failed. */
  const forward = (req, body) =>
    new Promise((resolve) => {
      const live = backends();
      if (live.length === 0) {
        counts.no_backend++;
        resolve(null);
        return;
      }
      const target = new URL(req.url, live[turn++ % live.length]);
      const upstream = request(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host }, agent, timeout: 15_000 },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', () => resolve(null));
        },
      );
      upstream.on('error', () => resolve(null));
      upstream.on('timeout', () => upstream.destroy());
      upstream.end(body);
    });

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const spoil = pick();
    if (spoil !== 'pass') counts[spoil]++;
    if (spoil === 'error') return void res.writeHead(500).end('chaos');
    if (spoil === 'reset') return void req.socket.destroy();
    if (spoil === 'slow') await sleep(200 + random() * 2300);
    const answer = await forward(req, body);
    if (answer === null) return void res.writeHead(502).end('no receiver answered');
    counts.forwarded++;
    if (spoil === 'lost_answer') return void req.socket.destroy();
    if (spoil === 'replaced_answer') return void res.writeHead(500).end('chaos after the receiver answered');
    if (spoil === 'timeout') await sleep(10_500);
    const headers = { ...answer.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers['transfer-encoding'];
    res.writeHead(answer.status ?? 502, headers).end(answer.body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${server.address().port}/webhooks`,
    counts,
    /** Chaos off: every request is passed through, for the drain at the end. */
    calm() {
      chaos = false;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
