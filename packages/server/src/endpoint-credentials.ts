/**
 * An endpoint's custom header values and the `user:pass@` of its URL are the receiver's credentials:
 * sealed at rest (store/rows.ts), shown only to `admin` keys. These are the forms everyone else sees.
 */

export const REDACTED = '[redacted]';

/** The URL with its user and password replaced by `***` (a URL without them, as it is). */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '***';
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return REDACTED;
  }
}

/** The header names, each value replaced by `[redacted]`. */
export function redactedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}
