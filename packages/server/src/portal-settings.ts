/**
 * The portal's settings (`--portal-*` flags): who may frame it, where an expired session sends the
 * customer back to, and its brand. Each parser throws a RangeError naming what it wants, so the
 * command line can say so; the same rules hold for a tenant's metadata in the app (dashboard theme.ts).
 */

/** A CSS hex colour, the only accent accepted: it goes into a style property, never into CSS text. */
const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * `--portal-frame-ancestors`: `'self'`, `'none'`, or origins (`https://app.example.com`,
 * `https://*.example.com`, `http://127.0.0.1:3000`), separated by spaces or commas. They become one
 * CSP directive, so nothing else (no `;`, no path, no query) may ride along.
 */
export function parseFrameAncestors(value: string): string[] {
  const sources = value.split(/[\s,]+/).filter((s) => s !== '');
  if (sources.length === 0) throw new RangeError("needs at least one origin, or 'self'.");
  for (const source of sources) {
    if (source === "'self'" || source === "'none'") continue;
    if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(source)) {
      throw new RangeError(
        `"${source}" is not an origin such as https://app.example.com (scheme and host, an optional port, no path), or 'self'.`,
      );
    }
  }
  if (sources.includes("'none'") && sources.length > 1) throw new RangeError("'none' cannot be listed with others.");
  return sources;
}

/** `--portal-return-url`: where the portal's "session expired" notice links to. */
export function parseReturnUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`"${value}" is not a URL such as https://app.example.com/webhooks.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`"${value}" is not an http(s) URL.`);
  return url.toString();
}

/** `--portal-accent`: `#rgb` or `#rrggbb`. */
export function parseAccent(value: string): string {
  if (!HEX_COLOUR.test(value)) throw new RangeError(`"${value}" is not a colour such as #0b6bcb.`);
  return value.toLowerCase();
}

/** `--portal-brand-name`: shown in the portal's header instead of "Herald". */
export function parseBrandName(value: string): string {
  const name = value.trim();
  if (name === '' || name.length > 80) throw new RangeError('must be 1 to 80 characters.');
  return name;
}
