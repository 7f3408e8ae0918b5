/**
 * The portal's brand: the operator's settings (GET /portal/config.json, from `--portal-brand-name`
 * and `--portal-accent`), each overridden by the tenant's own `metadata.brand_name` and
 * `metadata.accent` when they are valid. The same rules as the server's portal-settings.ts.
 */
export interface PortalSettings {
  brand_name: string | null;
  accent: string | null;
  return_url: string | null;
}

export interface Brand {
  name: string;
  accent: string | null;
}

const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

function brandName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = value.trim();
  return name !== '' && name.length <= 80 ? name : null;
}

function accent(value: unknown): string | null {
  return typeof value === 'string' && HEX_COLOUR.test(value) ? value : null;
}

export function brandOf(settings: PortalSettings | undefined, metadata: Record<string, unknown> | undefined): Brand {
  return {
    name: brandName(metadata?.brand_name) ?? brandName(settings?.brand_name) ?? 'Herald',
    accent: accent(metadata?.accent) ?? accent(settings?.accent),
  };
}

/** An http(s) URL to link back to, or null (a `javascript:` URL never becomes a link). */
export function returnUrlOf(settings: PortalSettings | undefined): string | null {
  const url = settings?.return_url;
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}
