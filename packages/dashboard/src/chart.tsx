import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DeliveryBuckets } from './delivery-stats.js';

declare global {
  interface Window {
    /** The data the overview chart draws, for tests and for the curious (it is not a secret). */
    __heraldChart?: DeliveryBuckets;
  }
}

const SERIES = [
  { key: 'succeeded', label: 'Succeeded', stroke: '#1a7f37', fill: 'rgba(26,127,55,0.15)' },
  { key: 'failed', label: 'Failed', stroke: '#cf222e', fill: 'rgba(207,34,46,0.15)' },
  { key: 'pending', label: 'Pending', stroke: '#9a6700', fill: 'rgba(154,103,0,0.10)' },
] as const;

/** Deliveries per minute as a uPlot line chart that follows its container's width. */
export function DeliveriesChart({ buckets, label }: { buckets: DeliveryBuckets; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = () => Math.max(280, element.clientWidth);
    plot.current = new uPlot(
      {
        width: width(),
        height: 240,
        series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, fill: s.fill, width: 2 }))],
        axes: [{}, { label: 'per minute' }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      [[], [], [], []],
      element,
    );
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 240 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData([buckets.t, buckets.succeeded, buckets.failed, buckets.pending]);
    window.__heraldChart = buckets;
  }, [buckets]);

  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return (
    <figure className="chart">
      <div
        ref={box}
        role="img"
        aria-label={label}
        data-succeeded={sum(buckets.succeeded)}
        data-failed={sum(buckets.failed)}
        data-pending={sum(buckets.pending)}
        data-testid="deliveries-chart"
      />
      <figcaption>
        {label}: {sum(buckets.succeeded)} succeeded, {sum(buckets.failed)} failed, {sum(buckets.pending)} pending.
      </figcaption>
    </figure>
  );
}

export interface AttemptPoint {
  /** Unix seconds the attempt started. */
  t: number;
  durationMs: number;
  ok: boolean;
}

/** An endpoint's recent attempts: latency in ms over time, successes and failures as separate series. */
export function LatencyChart({ points }: { points: AttemptPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const sorted = [...points].sort((a, b) => a.t - b.t);
    const width = () => Math.max(280, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 200,
        series: [
          {},
          { label: 'Succeeded (ms)', stroke: '#1a7f37', width: 0, points: { show: true, size: 7 } },
          { label: 'Failed (ms)', stroke: '#cf222e', width: 0, points: { show: true, size: 7 } },
        ],
        axes: [{}, { label: 'ms' }],
      },
      [
        sorted.map((p) => p.t),
        sorted.map((p) => (p.ok ? p.durationMs : null)),
        sorted.map((p) => (p.ok ? null : p.durationMs)),
      ],
      element,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 200 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [points]);
  const ok = points.filter((p) => p.ok);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return (
    <figure className="chart">
      <div ref={box} role="img" aria-label="Latency of this endpoint's recent attempts" data-testid="latency-chart" />
      <figcaption>
        {points.length} recent attempts: {ok.length} succeeded
        {ok.length ? `, median latency of successes ${median(ok.map((p) => p.durationMs))} ms` : ''}.
      </figcaption>
    </figure>
  );
}
