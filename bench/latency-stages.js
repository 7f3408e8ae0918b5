// Where a delivery's publish → first attempt time goes, stage by stage (docs/latency.md).
//
//   npm run build && node bench/latency-stages.js [rate=1000] [seconds=10]
//   HERALD_SQLITE_THREAD=0 node bench/latency-stages.js     (SQLite on the main thread)
//   STAGES_CAP=50 node bench/latency-stages.js              (the endpoint's cap in flight, default 10)
//   STAGES_ENDPOINTS=50 node bench/latency-stages.js 5000   (events spread over 50 endpoints, default 1)
//
// Herald (`serve`, SQLite) runs IN this process so its store, dispatcher and undici can be wrapped
// with timers; the paced publisher runs in a child process and the receiver in another. Per event:
//   publish → commit   publisher's due time → the publish transaction's commit resolved (HTTP,
//                      group-commit wait, the SQLite thread's queue, the commit and its fsync)
//   commit → claim     → the start of the claim that took it (wake-up, a claim already running)
//   claim              that claim's call, start to end (the SQLite thread's queue + the statement)
//   queue → send       claim end → the request handed to undici (endpoint queue, cap, event loop)
// plus the claims', attempt-log writes' and publishes' sizes and durations, the event loop's delay
// and GC pauses. Instrumentation is by wrapping methods from outside; nothing in src/ is touched.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Agent } from 'undici';
import { paced, wall } from './paced.js';
import { spawnListening } from './servers.js';

const KEY = 'hk_bench_admin_key_000000000000000000000000000';
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

const ENDPOINTS = Number(process.env.STAGES_ENDPOINTS ?? 1);
const typeOf = (i) => `bench.e${i % ENDPOINTS}`;

function publishFrom(url, rate, ms) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--publisher', url, String(rate), String(ms)]);
    child.on('message', resolve);
    child.on('exit', (code) => code !== 0 && reject(new Error(`publisher exited ${code}`)));
  });
}

/** CPU time (user + system) of a process so far, ms, from /proc (Linux). */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks of 1/100 s
}

const pct = (values, p) => {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const summary = (values) =>
  `p50 ${pct(values, 50).toFixed(1)}  p99 ${pct(values, 99).toFixed(1)}  max ${pct(values, 100).toFixed(1)}  (n ${values.length})`;

async function main(rate, seconds) {
  const { startHerald } = await import('../packages/server/dist/app.js');
  const { makeConfig } = await import('../packages/server/dist/config.js');
  const dir = mkdtempSync(join(tmpdir(), 'herald-stages-'));
  const receiver = await spawnListening([new URL('./latency-receiver.js', import.meta.url).pathname]);
  const herald = await startHerald(
    makeConfig({
      port: 0,
      host: '127.0.0.1',
      db: join(dir, 'stages.db'),
      bootstrapKey: KEY,
      allowPrivateNetworks: true,
      logLevel: 'warn',
      rateLimitPerS: 100_000_000,
      // STAGES_CAP=50: the endpoint's in-flight cap (--endpoint-concurrency), to test whether it is what queues.
      ...(process.env.STAGES_CAP ? { endpointConcurrency: Number(process.env.STAGES_CAP) } : {}),
    }),
    'serve',
  );
  try {
    // One endpoint per event type: the publisher sends event i with type i mod ENDPOINTS.
    for (let i = 0; i < ENDPOINTS; i++) {
      const created = await fetch(`${herald.url}/v1/endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: `${receiver.url}/webhooks/${typeOf(i)}`, event_types: [typeOf(i)] }),
      });
      if (created.status !== 201) throw new Error(`endpoint: ${created.status}`);
    }

    // Per event id: its stages' timestamps (wall ms).
    const events = new Map();
    const claims = [];
    const records = [];
    const attemptMs = [];
    const publishes = [];
    let wakes = 0;
    let measuring = false;
    const gcPauses = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });

    const store = herald.store;
    const publish = store.publish.bind(store);
    // Writes (publish commits, attempt-log writes) called and not yet answered: what a claim queues behind.
    let writesAhead = 0;
    store.publish = async (inputs) => {
      const began = wall();
      writesAhead++;
      const results = await publish(inputs).finally(() => writesAhead--);
      const ended = wall();
      if (measuring) publishes.push({ size: inputs.length, ms: ended - began });
      for (const input of inputs) {
        if (measuring) events.set(input.id, { sentAt: input.data.sent_at, commitAt: ended });
      }
      return results;
    };
    const claim = store.claimDueDeliveries.bind(store);
    store.claimDueDeliveries = async (options) => {
      const began = wall();
      const behind = writesAhead;
      const claimed = await claim(options);
      const ended = wall();
      if (measuring) {
        // What the endpoint's queue already held when this batch joined it.
        const { inFlight, dueCount } = herald.dispatcher.stats();
        claims.push({ size: claimed.length, began, ms: ended - began, inFlight, dueCount, behind });
      }
      for (const c of claimed) {
        const e = events.get(c.event.id);
        if (e) Object.assign(e, { claimStart: began, claimEnd: ended });
      }
      return claimed;
    };
    const record = store.recordAttempts.bind(store);
    store.recordAttempts = async (outcomes, now) => {
      const began = wall();
      writesAhead++;
      await record(outcomes, now).finally(() => writesAhead--);
      if (measuring) {
        records.push({ size: outcomes.length, ms: wall() - began });
        for (const o of outcomes) attemptMs.push(o.attempt.durationMs);
      }
    };
    const wake = herald.dispatcher.wake.bind(herald.dispatcher);
    herald.dispatcher.wake = () => {
      if (measuring) wakes++;
      wake();
    };
    const dispatch = Agent.prototype.dispatch;
    Agent.prototype.dispatch = function (options, handler) {
      const id = /"id":"(evt_[^"]+)"/.exec(String(options.body))?.[1];
      const e = id && events.get(id);
      if (e && e.sendAt === undefined) e.sendAt = wall();
      return dispatch.call(this, options, handler);
    };
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (measuring) gcPauses.push(entry.duration);
    });
    gc.observe({ entryTypes: ['gc'] });

    // Warm-up, then the measured run.
    await publishFrom(herald.url, rate, 1000);
    await new Promise((r) => setTimeout(r, 500));
    measuring = true;
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();
    const receiverCpuBefore = cpuMsOf(receiver.child.pid);
    const wallBefore = Date.now();
    const result = await publishFrom(herald.url, rate, seconds * 1000);
    const deadline = Date.now() + 60_000;
    while ([...events.values()].some((e) => e.sendAt === undefined) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    measuring = false;
    // This process: Herald's main thread and its SQLite thread (the publisher and receiver are children).
    const cpu = process.cpuUsage(cpuBefore);
    const receiverCpuMs = cpuMsOf(receiver.child.pid) - receiverCpuBefore;
    const wallMs = Date.now() - wallBefore;
    loopDelay.disable();
    gc.disconnect();
    Agent.prototype.dispatch = dispatch;

    const done = [...events.values()].filter((e) => e.sendAt !== undefined && e.claimEnd !== undefined);
    const stages = {
      'publish → commit': (e) => e.commitAt - e.sentAt,
      'commit → claim start': (e) => e.claimStart - e.commitAt,
      'claim (call)': (e) => e.claimEnd - e.claimStart,
      'claim end → send': (e) => e.sendAt - e.claimEnd,
      'total (publish → send)': (e) => e.sendAt - e.sentAt,
    };
    const thread = process.env.HERALD_SQLITE_THREAD === '0' ? 'main thread' : 'its thread';
    console.log(
      `\n${rate}/s to ${ENDPOINTS === 1 ? 'one endpoint' : `${ENDPOINTS} endpoints`} (cap ${herald.config.endpointConcurrency}) for ${seconds} s, SQLite on ${thread}: ${result.accepted} published (${result.errors} errors), ${done.length} sent`,
    );
    console.log('\nper delivery, ms');
    for (const [name, of] of Object.entries(stages)) console.log(`  ${name.padEnd(24)} ${summary(done.map(of))}`);
    const total = stages['total (publish → send)'];
    const cut = pct(done.map(total), 99);
    const tail = done.filter((e) => total(e) >= cut);
    console.log(`\nthe slowest 1 % (total ≥ ${cut.toFixed(1)} ms, ${tail.length} deliveries): mean of each stage, ms`);
    for (const [name, of] of Object.entries(stages)) {
      console.log(`  ${name.padEnd(24)} ${(tail.reduce((s, e) => s + of(e), 0) / tail.length).toFixed(1)}`);
    }
    console.log('\nper operation, ms');
    console.log(`  claims                   ${summary(claims.map((c) => c.ms))}`);
    console.log(`    size                   ${summary(claims.map((c) => c.size))}`);
    const alone = claims.filter((c) => c.behind === 0).map((c) => c.ms);
    const queued = claims.filter((c) => c.behind > 0).map((c) => c.ms);
    console.log(`    with no write ahead    ${summary(alone)}`);
    console.log(`    behind ≥ 1 write       ${summary(queued)}`);
    console.log(`    start to next start    ${summary(claims.slice(1).map((c, i) => c.began - claims[i].began))}`);
    console.log(`    in flight at claim end ${summary(claims.map((c) => c.inFlight))}`);
    console.log(`    queued at claim end    ${summary(claims.map((c) => c.dueCount))}`);
    console.log(`  attempts (send → answer) ${summary(attemptMs)}`);
    console.log(`  attempt-log writes       ${summary(records.map((c) => c.ms))}`);
    console.log(`    size                   ${summary(records.map((c) => c.size))}`);
    console.log(`  publish commits          ${summary(publishes.map((c) => c.ms))}`);
    console.log(`    size                   ${summary(publishes.map((c) => c.size))}`);
    console.log(`  wake() calls             ${wakes}`);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `  Herald CPU               ${cpuMs.toFixed(0)} ms, ${(cpuMs / done.length).toFixed(3)} ms per delivery`,
    );
    // Everything here shares the machine's cores: Herald, the paced publisher and the receiver.
    const cores = (ms) => (ms / wallMs).toFixed(2);
    console.log(
      `  cores busy (of ${availableParallelism()}) Herald ${cores(cpuMs)}, publisher ${cores(result.cpuMs)}, receiver ${cores(receiverCpuMs)}, over ${(wallMs / 1000).toFixed(1)} s`,
    );
    const ns = (p) => (loopDelay.percentile(p) / 1e6).toFixed(1);
    console.log(`  event-loop delay         p50 ${ns(50)}  p99 ${ns(99)}  max ${(loopDelay.max / 1e6).toFixed(1)}`);
    console.log(
      `  GC pauses                ${summary(gcPauses)}, ${gcPauses.reduce((s, d) => s + d, 0).toFixed(0)} ms in all`,
    );
  } finally {
    await herald.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--publisher') {
  // The child: publish at the rate, report.
  const [url, rate, ms] = process.argv.slice(3);
  const result = await paced({
    url,
    headers: auth,
    rate: Number(rate),
    durationMs: Number(ms),
    body: (i, dueAt) => `{"type":"${typeOf(i)}","data":{"sent_at":${dueAt}}}`,
  });
  const cpu = process.cpuUsage();
  process.send({ ...result, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
} else {
  await main(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 10));
}
