import type { Delivery } from '@herald/client';
import type { Command } from 'commander';
import { type ApiFlags, clientOf, positive, withApiFlags } from './api-flags.js';
import { EXIT, printJson, table, UsageError } from './output.js';
import { progressBar } from './progress.js';

type Status = 'pending' | 'succeeded' | 'failed';

function status(value: string): Status {
  if (value !== 'pending' && value !== 'succeeded' && value !== 'failed') {
    throw new UsageError(`--status "${value}": one of pending, succeeded, failed.`);
  }
  return value;
}

export function deliveryCommands(program: Command): void {
  const deliveries = program.command('deliveries').description('list and retry deliveries');

  withApiFlags(deliveries.command('list').description('list deliveries, newest first'))
    .option('--status <status>', 'pending, succeeded or failed', status)
    .option('--endpoint <id>', 'only this endpoint')
    .option('--event <id>', 'only this event')
    .option('--limit <n>', 'rows at most', positive, 100)
    .action(async (flags: ApiFlags & { status?: Status; endpoint?: string; event?: string; limit: number }) => {
      const out: Delivery[] = [];
      const items = clientOf(flags).deliveries.list({
        status: flags.status,
        endpoint_id: flags.endpoint,
        event_id: flags.event,
        limit: Math.min(250, flags.limit),
      });
      for await (const d of items) {
        out.push(d);
        if (out.length >= flags.limit) break;
      }
      if (flags.json) return printJson(out);
      process.stdout.write(
        table(
          ['ID', 'STATUS', 'ENDPOINT', 'EVENT', 'SEQ', 'ATTEMPTS', 'NEXT ATTEMPT', 'CREATED AT'],
          out.map((d) => [
            d.id,
            d.status,
            d.endpoint_id,
            d.event_id,
            d.sequence,
            d.attempt_count,
            d.next_attempt_at,
            d.created_at,
          ]),
        ),
      );
    });

  withApiFlags(
    deliveries
      .command('retry')
      .description('retry one delivery now, or every failed one (--failed) as a background job')
      .argument('[id]'),
  )
    .option('--failed', 'retry every failed delivery that matches the filters')
    .option('--endpoint <id>', 'with --failed: only this endpoint')
    .option('--since <time>', 'with --failed: created at or after this ISO-8601 time')
    .option('--until <time>', 'with --failed: created before this ISO-8601 time')
    .action(
      async (
        id: string | undefined,
        flags: ApiFlags & { failed?: boolean; endpoint?: string; since?: string; until?: string },
      ) => {
        const client = clientOf(flags);
        if (id !== undefined) {
          if (flags.failed || flags.endpoint || flags.since || flags.until) {
            throw new UsageError('give a delivery id, or --failed with filters, not both.');
          }
          const after = await client.deliveries.retry(id);
          if (flags.json) printJson(after);
          else {
            const a = after.attempt;
            const answer = a ? (a.response_status ?? a.error ?? '-') : '-';
            process.stdout.write(`${after.id}: attempt ${a?.attempt_no ?? '-'} answered ${answer}; ${after.status}.\n`);
          }
          const ok =
            after.attempt?.response_status !== undefined &&
            after.attempt?.response_status !== null &&
            after.attempt.response_status >= 200 &&
            after.attempt.response_status < 300;
          if (!ok) process.exitCode = EXIT.RETRY_FAILED;
          return;
        }
        if (!flags.failed) throw new UsageError('give a delivery id, or --failed to retry every failed delivery.');
        const started = await client.deliveries.retryFailed({
          endpoint_id: flags.endpoint,
          since: flags.since,
          until: flags.until,
        });
        const bar = flags.json ? undefined : progressBar();
        const job = await client.jobs.wait(started.job_id, { intervalMs: 250, onProgress: (j) => bar?.update(j) });
        bar?.end();
        if (flags.json) printJson(job);
        else
          process.stdout.write(
            `Job ${job.id} ${job.state}: ${job.succeeded} succeeded, ${job.failed} failed of ${job.total}.\n`,
          );
        if (job.state !== 'completed' || job.failed > 0) process.exitCode = EXIT.RETRY_FAILED;
      },
    );
}
