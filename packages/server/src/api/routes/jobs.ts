import { newId } from '@herald/protocol';
import { BulkRetryBody, BulkRetryStartedSchema, ErrorSchema, IdParams, JobSchema } from '@herald/protocol/api';
import type { BulkRetryFilter } from '../../store/types.js';
import { invalid, notFound } from '../errors.js';
import { presentJob } from '../present.js';
import { scopedStore } from '../scope.js';
import type { Api, RouteDeps } from '../server.js';
import { parseTime } from './events.js';

export function jobRoutes(app: Api, { store, config, jobs }: RouteDeps): void {
  /**
   * Retries every failed delivery that matches, as a background job: the set is fixed and written
   * with the job, so `total` never moves. Without a runner in this process (`herald api`), a worker
   * picks the job up at its next poll.
   */
  app.post(
    '/v1/deliveries/retry',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'retryFailedDeliveries',
        tags: ['Deliveries'],
        summary: 'Retry failed deliveries',
        description:
          'Retries every failed delivery that matches (of one endpoint, created in a window) as a background job; the set is fixed when the job is made. Follow it with GET /v1/jobs/{id}.',
        body: BulkRetryBody,
        response: { 202: BulkRetryStartedSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const scoped = scopedStore(store, request);
      const body = request.body ?? {};
      const now = config.clock.now();
      const filter: BulkRetryFilter = {
        endpointId: body.endpoint_id,
        since: body.since === undefined ? undefined : parseTime('since', body.since),
        until: body.until === undefined ? undefined : parseTime('until', body.until),
      };
      if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
        throw invalid('until', 'must be later than since.');
      }
      if (filter.endpointId !== undefined && !(await scoped.getEndpoint(filter.endpointId))) {
        throw notFound('endpoint', filter.endpointId);
      }
      // A portal session's job takes its tenant's failed deliveries only (the scope adds the filter).
      const job = await scoped.createBulkRetryJob({
        id: newId('job', now),
        filter,
        params: body,
        createdAt: now,
      });
      jobs?.wake();
      return reply.code(202).send({ job_id: job.id, total: job.total, state: job.state });
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      config: { tenantScoped: true },
      schema: {
        operationId: 'getJob',
        tags: ['Deliveries'],
        summary: 'Get a job',
        description: 'A background job (a bulk retry) and its progress.',
        params: IdParams,
        response: { 200: JobSchema },
      },
    },
    async (request) => {
      const job = await scopedStore(store, request).getJob(request.params.id);
      if (!job) throw notFound('job', request.params.id);
      return presentJob(job);
    },
  );
}
