/** What `onAlert` is called with. */
export type Alert =
  | {
      kind: 'silence';
      message: string;
      /** ms since the epoch of the last webhook (or of start, when none came). */
      lastWebhookAt: number;
      /** The sender's sync status of each connection the receiver knows, when a client is configured. */
      syncStatus: readonly unknown[];
    }
  | { kind: 'dead'; message: string; eventId: string; type: string; error: string }
  | { kind: 'failure_rate'; message: string; rate: number; window: number };

export interface FailureRateOptions {
  /**
   * The share of failed handler runs, among the last `window`, over which `onAlert` fires.
   * @default 0.5
   */
  threshold?: number;
  /**
   * How many recent handler runs the rate is measured over; it fires only once the window is full.
   * @default 20
   */
  window?: number;
}

/**
 * The failure rate of the last handler runs. Fires once when the rate goes over the threshold, and
 * again only after it has come back under it.
 */
export function failureRateMonitor(options: FailureRateOptions, fire: (rate: number, window: number) => void) {
  const threshold = options.threshold ?? 0.5;
  const size = options.window ?? 20;
  const outcomes: boolean[] = [];
  let failures = 0;
  let firing = false;
  return (failed: boolean): void => {
    outcomes.push(failed);
    if (failed) failures++;
    if (outcomes.length > size && outcomes.shift()) failures--;
    if (outcomes.length < size) return;
    const rate = failures / outcomes.length;
    if (rate > threshold && !firing) {
      firing = true;
      fire(rate, size);
    } else if (rate <= threshold) {
      firing = false;
    }
  };
}
