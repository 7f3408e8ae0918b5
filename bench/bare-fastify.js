import Fastify from 'fastify';

// The publish ceiling: Fastify parsing the same JSON body and answering 202, storing nothing.
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/v1/events', async (request, reply) => {
  reply.code(202);
  return { id: 'evt_x', deliveries: [], type: request.body.type };
});
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
