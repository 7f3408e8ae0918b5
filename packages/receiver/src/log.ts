/** pino's call shape, so an application can pass its pino logger (or console-like wrapper) as is. */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One JSON line per entry on stderr. */
export const consoleLogger: Logger = {
  info: (fields, message) => console.info(JSON.stringify({ level: 'info', msg: message, ...fields })),
  warn: (fields, message) => console.warn(JSON.stringify({ level: 'warn', msg: message, ...fields })),
  error: (fields, message) => console.error(JSON.stringify({ level: 'error', msg: message, ...fields })),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Anything thrown, as an Error (keeping the original as `cause`). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `Non-error thrown: ${String(thrown)}`, { cause: thrown });
}

/** A short text of an error for logs and the inbox's `last_error`. */
export function describeError(thrown: unknown): string {
  const error = coerceError(thrown);
  return `${error.name}: ${error.message}`.slice(0, 2000);
}
