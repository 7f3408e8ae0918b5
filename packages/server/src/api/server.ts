import type { IncomingMessage, ServerResponse } from 'node:http';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { type GroupCommit, HeraldError, newId } from '@herald/protocol';
import { ErrorSchema } from '@herald/protocol/api';
import Fastify, { type FastifyInstance, LogController, type RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { JobRunner } from '../jobs/bulk-retry.js';
import type { Metrics } from '../metrics.js';
import type { PublishInput, PublishResult, Store } from '../store/types.js';
import { type Authenticator, createAuthenticator, requireOperator, setCaller } from './auth.js';
import { answerClientError } from './client-error.js';
import { commonErrorStatuses } from './error-statuses.js';
import { errorCodeOf, handleError, handleNotFound, sendError } from './errors.js';
import { depthError } from './json-depth.js';
import { type CollectedRoute, collectRoute } from './openapi.js';
import { createRateLimiter } from './rate-limit.js';
import { recordRoutes } from './route-list.js';
import { alertRoutes } from './routes/alerts.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { connectionRoutes } from './routes/connections.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { docsRoutes } from './routes/docs.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { openApiRoutes } from './routes/openapi.js';
import { statsRoutes } from './routes/stats.js';
import { tenantRoutes } from './routes/tenants.js';

export interface ApiDeps {
  config: Config;
  store: Store;
  /** The group commit that publishes events: a 202 waits for the transaction that carries it. */
  publisher: GroupCommit<PublishInput, PublishResult>;
  logger: Logger;
  /** Absent when this process runs the API alone (`herald api`). */
  dispatcher: Dispatcher | undefined;
  /** Runs bulk jobs; absent in `herald api` (a worker picks the jobs up). */
  jobs?: JobRunner | undefined;
  /** Served at GET /metrics; absent: no /metrics route. */
  metrics?: Metrics | undefined;
}

/** What each routes file gets: the deps, and the authenticator (to forget revoked keys). */
export interface RouteDeps extends ApiDeps {
  auth: Authenticator;
}

export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

/** How long a client should wait before retrying against a process that is shutting down. */
const SHUTDOWN_RETRY_AFTER_SECONDS = 1;

/** The REST API, ready to listen (the caller listens). */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app: Api = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.maxBodyBytes,
    genReqId: () => newId('request'),
    // One line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Our own 503 (below) carries the error shape of the API contract; Fastify's would not.
    return503OnClosing: false,
    // Errors Fastify raises before routing (a malformed URL) get the same body as any other.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      handleError(error, request, reply);
    },
    // And so do those Node's parser raises before Fastify sees a request (client-error.ts).
    clientErrorHandler: answerClientError,
    // Connection ids are up to 255 characters (the API contract), three times that when percent-encoded;
    // the schema checks the decoded length.
    routerOptions: { maxParamLength: 3 * 255 },
    requestTimeout: deps.config.requestTimeoutMs,
    http: {
      headersTimeout: deps.config.headersTimeoutMs,
      // How often Node looks for requests past those timeouts (its default, 30 s, would let a
      // dripping client stay up to 30 s longer than they say).
      connectionsCheckingInterval: Math.min(1_000, deps.config.headersTimeoutMs),
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // TypeBox checks bodies as they are (no coercion: `"1"` is not a number) and converts query and
  // path strings to the schema's types.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  // JSON only. An empty body is "no body" (POST …/rotate and …/retry take none, and some clients
  // send a content-type anyway); anything else goes through Fastify's guarded parser, and a body
  // nested deeper than MAX_JSON_DEPTH is refused before anything walks it (json-depth.ts).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      const tooDeep = depthError(value);
      if (tooDeep) done(tooDeep, undefined);
      else done(null, value);
    });
  });

  // A write route without a body schema would take any body and ignore what it does not know (a
  // typo'd field silently doing nothing): refuse to build such an API. NoBody is the schema for none.
  app.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method);
    if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH') && !route.schema?.body) {
      throw new Error(`${methods.join(',')} ${route.url} has no body schema (use NoBody for a route that takes none).`);
    }
  });

  // Response schemas document the API (openapi.ts) and the tests validate every response against
  // them; they do not serialize. fast-json-stringify would drop any field a schema lacks and
  // rewrite what does not match, silently: JSON.stringify sends what the presenter built, so a
  // schema that is wrong fails a test instead of changing an answer.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Every route gets the error statuses a route of its kind can answer with (error-statuses.ts),
  // and goes into the OpenAPI document as registered.
  const documented: CollectedRoute[] = [];
  app.addHook('onRoute', (route) => {
    route.schema ??= {};
    const schema = route.schema;
    if (!schema.hide) {
      schema.response ??= {};
      const response = schema.response as Record<string, unknown>;
      const errors = commonErrorStatuses({
        public: route.config?.public === true,
        input: Boolean(schema.params || schema.querystring || schema.body),
        body: Boolean(schema.body),
        params: Boolean(schema.params),
      });
      if (schema.idempotent) errors.push(409);
      // A portal session that names another tenant in `tenant_id` gets that tenant's 404 (scope.ts).
      if (route.config?.tenantScoped === true && namesTenant(schema) && !errors.includes(404)) errors.push(404);
      for (const status of errors) response[status] ??= ErrorSchema;
    }
    documented.push(...collectRoute(route));
  });
  recordRoutes(app as unknown as FastifyInstance);

  const auth = createAuthenticator(deps.store, deps.config.clock);
  const limiter = createRateLimiter(deps.config.rateLimitPerS);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      return sendError(
        request,
        reply,
        new HeraldError('SERVICE_UNAVAILABLE', 'The server is shutting down; try again.', {
          retryAfterSeconds: SHUTDOWN_RETRY_AFTER_SECONDS,
        }),
      );
    }
    // Decided by the route the router matched (it decodes `/%761/…` and reads absolute-form targets
    // as `/v1/…`), never by the URL text: every route needs a key unless it is declared `public`.
    // A path that matches no route gets its 404 without one.
    if (!request.is404 && request.routeOptions.config.public !== true) {
      const caller = await auth.authenticate(request);
      requireOperator(request, caller);
      limiter.take(caller.keyId);
      setCaller(request, caller);
    }
  });

  // An answer given while closing ends its connection: otherwise close() (and SIGTERM) would wait
  // out the keep-alive of every client that had a request in flight.
  // Callback-style hooks where nothing is awaited: an async hook costs a promise per request.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    // At `--log-level warn` and above, a successful request writes nothing: skip building its line.
    if (reply.statusCode < 500 && !deps.logger.isLevelEnabled('info')) return done();
    const line = {
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 10) / 10,
      error: errorCodeOf(request),
    };
    if (reply.statusCode >= 500) request.log.warn(line, 'request');
    else request.log.info(line, 'request');
    done();
  });

  const routeDeps: RouteDeps = { ...deps, auth };
  healthRoutes(app, routeDeps);
  metricsRoutes(app, routeDeps);
  endpointRoutes(app, routeDeps);
  eventRoutes(app, routeDeps);
  deliveryRoutes(app, routeDeps);
  statsRoutes(app, routeDeps);
  alertRoutes(app, routeDeps);
  apiKeyRoutes(app, routeDeps);
  jobRoutes(app, routeDeps);
  connectionRoutes(app, routeDeps);
  tenantRoutes(app, routeDeps);
  eventTypeRoutes(app, routeDeps);
  dashboardRoutes(app, routeDeps);
  openApiRoutes(app, documented);
  docsRoutes(app, routeDeps);

  await app.ready();
  return app as unknown as FastifyInstance;
}

/** Whether a route takes `tenant_id` in its query or body. */
function namesTenant(schema: { querystring?: unknown; body?: unknown }): boolean {
  return [schema.querystring, schema.body].some(
    (part) =>
      typeof part === 'object' && part !== null && 'tenant_id' in ((part as { properties?: object }).properties ?? {}),
  );
}
