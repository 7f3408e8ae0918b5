// A receiving process of the soak: @herald/receiver (the built package) on node:http, configured by
// environment. Its handler writes one effect row per event through ctx.transaction, so the row
// commits with the mark that the event is processed: exactly once, whatever is killed when.
// Prints `listening <port>`.
import { createServer } from 'node:http';
import { createReceiver, postgresInbox, sqliteInbox } from '@herald/receiver';

const env = process.env;
const postgres = env.SOAK_INBOX.startsWith('postgres');
const inbox = postgres
  ? postgresInbox({ connectionString: env.SOAK_INBOX, schema: env.SOAK_INBOX_SCHEMA, max: 8 })
  : sqliteInbox(env.SOAK_INBOX);
const insert = postgres
  ? `INSERT INTO ${env.SOAK_EFFECTS} (event_id, pid) VALUES ($1, $2)`
  : `INSERT INTO ${env.SOAK_EFFECTS} (event_id, pid) VALUES (?, ?)`;
/** A share of the handler runs that throw after their write: the write must be undone with the run. */
const failRate = Number(env.SOAK_HANDLER_FAIL_RATE ?? 0.03);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const receiver = createReceiver({
  secret: env.SOAK_SECRET,
  inbox,
  concurrency: 8,
  // Short, so that the events a killed process had claimed run again within the soak's drain.
  lease: '2s',
  pollInterval: '200ms',
  // A handler failure here is chaos, not a bug: retried (soon) until it passes, never parked as dead.
  retry: { attempts: 1000, backoff: (n) => Math.min(2000, 50 * n) },
  logger: {
    info() {},
    warn() {},
    error(fields, message) {
      const text = JSON.stringify(fields);
      if (!text.includes('(on purpose)')) console.error(message, text);
    },
  },
  on: {
    '*': async (event, ctx) => {
      await sleep(Math.random() * 20);
      await ctx.transaction.run(insert, [event.id, process.pid]);
      // Work after the write: a kill or a throw here must not leave the effect behind.
      await sleep(Math.random() * 20);
      if (Math.random() < failRate) throw new Error('soak: the handler failed after its write (on purpose)');
    },
  },
});

const server = createServer(receiver.node());
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', async () => {
  await receiver.start();
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', async () => {
  server.close();
  await receiver.stop();
  process.exit(0);
});
