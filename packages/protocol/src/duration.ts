const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `24h`, `5d` (or a number of ms) → ms. Throws a RangeError naming the input. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new RangeError(`A duration must be a non-negative number of ms; got ${value}.`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) throw new RangeError(`"${value}" is not a duration such as 500ms, 30s, 15m, 24h or 5d.`);
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
}
