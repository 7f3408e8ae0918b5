import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

// A webhook receiver for the latency and backlog benchmarks. It answers 200 at once, or, started
// with --hang (or after POST /control/hang), never: it holds each request open, as a receiver that
// accepts connections and then stalls does, until POST /control/answer answers the held ones and
// every later one at once. For each delivery whose event data carries `sent_at` (the publisher's
// wall clock, ms, performance.timeOrigin + performance.now(): sub-millisecond and comparable across
// processes on one machine), it records arrival − sent_at.
//   GET /count       {count, firstAt, lastAt}  deliveries received (ms, wall clock)
//   GET /latencies   {count, p50, p95, p99, max} ms, since the last reset
//   POST /control/reset | /control/hang | /control/answer
const wall = () => performance.timeOrigin + performance.now();
let hanging = process.argv.includes('--hang');
const held = [];
let latencies = [];
let count = 0;
let firstAt = 0;
let lastAt = 0;

function pct(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') return json(res, { count, firstAt, lastAt });
  if (req.method === 'GET' && req.url === '/latencies') {
    const sorted = Float64Array.from(latencies).sort();
    return json(res, {
      count: sorted.length,
      p50: pct(sorted, 50),
      p95: pct(sorted, 95),
      p99: pct(sorted, 99),
      max: sorted.length === 0 ? null : sorted[sorted.length - 1],
    });
  }
  if (req.url?.startsWith('/control/')) {
    if (req.url === '/control/reset') {
      latencies = [];
      count = firstAt = lastAt = 0;
    } else if (req.url === '/control/hang') hanging = true;
    else if (req.url === '/control/answer') {
      hanging = false;
      for (const r of held.splice(0)) {
        r.writeHead(200);
        r.end();
      }
    }
    return json(res, { hanging });
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const arrived = wall();
    if (hanging) {
      held.push(res);
      return;
    }
    const body = Buffer.concat(chunks).toString();
    // Parsed only when the publisher stamped it (the backlog's seeded events are not).
    if (body.includes('"sent_at"')) {
      const sentAt = JSON.parse(body).data?.sent_at;
      if (typeof sentAt === 'number') latencies.push(arrived - sentAt);
    }
    const now = Date.now();
    if (count === 0) firstAt = now;
    count++;
    lastAt = now;
    res.writeHead(200);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
// A request held while hanging is never timed out here: Herald's attempt timeout ends it.
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
