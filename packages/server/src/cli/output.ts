import { HeraldError } from '@herald/client';

/**
 * What the people commands print, and how they end. Tables for a person, `--json` (one JSON
 * document, or one JSON object a line for the commands that follow) for a script. Errors go to
 * stderr as `CODE: message (request_id)`.
 */

/** The exit codes scripts can trust; listed in the README. */
export const EXIT = {
  OK: 0,
  /** The API answered with an error (4xx/5xx): the line on stderr names its code. */
  API_ERROR: 1,
  /** The command line is wrong: an unknown flag, a missing argument, --data that is not JSON. */
  USAGE: 2,
  /** No answer from Herald (refused, reset, timed out) after the client's retries. */
  UNREACHABLE: 3,
  /** A retry ran but a delivery failed again (`deliveries retry`, a bulk job with failures). */
  RETRY_FAILED: 4,
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Whether to colour: only for a person at a terminal, and never when NO_COLOR is set. */
export function colours(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour | undefined, on: boolean): string {
  return on && colour ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

/** Aligned columns with a header row; empty cells print as `-`. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints an error the way every command does and gives its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof HeraldError) {
    process.stderr.write(`${error.toString()}\n`);
    return error.status === 0 ? EXIT.UNREACHABLE : EXIT.API_ERROR;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`USAGE: ${error.message}\n`);
    return EXIT.USAGE;
  }
  process.stderr.write(`herald: ${(error as Error)?.message ?? String(error)}\n`);
  return EXIT.API_ERROR;
}
