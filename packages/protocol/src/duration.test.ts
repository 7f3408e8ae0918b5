import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['5d', 432_000_000],
    ['0s', 0],
  ])('reads the flag value %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['1.5s', 1_500],
    ['0.5h', 1_800_000],
    ['2.25m', 135_000],
    ['1.5d', 129_600_000],
  ])('reads the decimal %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rounds a fraction of a millisecond to whole milliseconds', () => {
    expect(parseDuration('0.0004s')).toBe(0);
    expect(parseDuration('1.6ms')).toBe(2);
  });

  it('tolerates spaces around and inside, as a config file may have them', () => {
    expect(parseDuration(' 30s ')).toBe(30_000);
    expect(parseDuration('30 s')).toBe(30_000);
  });

  it('passes a number of ms through', () => {
    expect(parseDuration(1_500)).toBe(1_500);
    expect(parseDuration(0)).toBe(0);
  });

  it.each(['soon', '', '30', '-5s', '5w', 'ms', '1.2.3s', 'thirty seconds', '1e3ms'])(
    'refuses %j with a RangeError that names it',
    (text) => {
      expect(() => parseDuration(text)).toThrow(RangeError);
      expect(() => parseDuration(text)).toThrow(`"${text}"`);
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses the number %d with a RangeError that names it',
    (value) => {
      expect(() => parseDuration(value)).toThrow(RangeError);
      expect(() => parseDuration(value)).toThrow(String(value));
    },
  );
});
