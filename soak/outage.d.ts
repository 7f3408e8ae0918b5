/** A PostgreSQL outage (see outage.js): processes connect to `url`; down() cuts them off, up() lets them back. */
export interface Outage {
  kind: 'proxy' | 'real';
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export function proxyOutage(base: string | URL): Promise<Outage>;
export function realOutage(base: string): Outage;
