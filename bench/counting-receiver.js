import { createServer } from 'node:http';

// A webhook receiver that answers 200 at once and counts; GET /count reports
// {count, firstAt, lastAt} (ms) so a benchmark can time deliveries from the receiving side.
let count = 0;
let firstAt = 0;
let lastAt = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, firstAt, lastAt }));
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    const now = Date.now();
    if (count === 0) firstAt = now;
    count++;
    lastAt = now;
    res.writeHead(200);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
