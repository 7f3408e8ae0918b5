import type { Job } from '@herald/client';

/**
 * A bulk job's progress on stderr: a bar redrawn in place at a terminal, a line per change
 * otherwise (a log file gets `12/40` lines, not carriage returns).
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update(job: Job): void; end(): void } {
  const tty = stream.isTTY === true;
  let last = '';
  return {
    update(job) {
      const width = 30;
      const ratio = job.total === 0 ? 1 : job.done / job.total;
      const filled = Math.round(ratio * width);
      const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${job.done}/${job.total} retried (${job.succeeded} succeeded, ${job.failed} failed)`;
      if (text === last) return;
      last = text;
      stream.write(tty ? `\r${text}` : `${text}\n`);
    },
    end() {
      if (tty && last !== '') stream.write('\n');
    },
  };
}
