// A webhook receiver on Express with @herald/receiver.
//
//   npm run build
//   WEBHOOK_SECRET=whsec_… node examples/receiver/server.js
//
// Environment: WEBHOOK_SECRET (required), PORT (default 3000), INBOX (default ./inbox.db),
// and for the polling fallback HERALD_URL, HERALD_API_KEY (a read key) and HERALD_ENDPOINT_ID.

import { createReceiver, heraldClient, sqliteInbox } from '@herald/receiver';
import Database from 'better-sqlite3';
import express from 'express';

const env = process.env;
if (!env.WEBHOOK_SECRET) {
  console.error('Set WEBHOOK_SECRET to the endpoint secret (whsec_…).');
  process.exit(1);
}

// The application's own table lives in the inbox's database, so that handlers can write to it
// through ctx.transaction.
const file = env.INBOX ?? 'inbox.db';
const db = new Database(file);
db.exec('CREATE TABLE IF NOT EXISTS syncs (connection_id TEXT PRIMARY KEY, sequence INTEGER, rows INTEGER)');
db.close();

const receiver = createReceiver({
  secret: env.WEBHOOK_SECRET,
  inbox: sqliteInbox(file),
  order: { key: (event) => event.connection_id },
  retry: { attempts: 5 },
  on: {
    'sync.completed': async (event, ctx) => {
      // Effects written through ctx.transaction commit with the event's "processed" mark: once.
      await ctx.transaction.run(
        `INSERT INTO syncs (connection_id, sequence, rows) VALUES (?, ?, ?)
         ON CONFLICT (connection_id) DO UPDATE SET sequence = excluded.sequence, rows = excluded.rows`,
        [event.connection_id, event.sequence, event.data?.rows ?? null],
      );
      console.log(`sync.completed ${event.id} for ${event.connection_id} (sequence ${event.sequence})`);
    },
    '*': async (event) => {
      console.log(`${event.type} ${event.id}`);
    },
  },
  fallback:
    env.HERALD_URL && env.HERALD_API_KEY
      ? {
          silentAfter: '15m',
          client: heraldClient({
            baseUrl: env.HERALD_URL,
            apiKey: env.HERALD_API_KEY,
            endpointId: env.HERALD_ENDPOINT_ID,
          }),
        }
      : undefined,
  onAlert: (alert) => console.warn(`ALERT ${alert.kind}: ${alert.message}`),
});

const app = express();
// The webhook route comes before any body parser: it verifies the raw bytes.
app.post('/webhooks', receiver.express());
app.use(express.json());
app.get('/metrics', async (_req, res) => {
  res.type(receiver.metrics.contentType).send(await receiver.metrics.metrics());
});
app.get('/dead', async (_req, res) => {
  res.json(await receiver.inbox.list({ status: 'dead' }));
});
app.post('/dead/replay', async (_req, res) => {
  res.json({ replayed: await receiver.replay({ status: 'dead' }) });
});

await receiver.start();
const server = app.listen(Number(env.PORT ?? 3000), env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`receiver listening on http://${address}:${port}/webhooks`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    receiver.stop().then(() => process.exit(0));
  });
}
