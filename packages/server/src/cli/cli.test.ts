import { describe, expect, it } from 'vitest';
import { readData } from './events.js';
import { paint, table, UsageError } from './output.js';
import { outcome, type TailLine } from './tail.js';

describe('people commands: output', () => {
  it('aligns a table and shows empty cells as -', () => {
    expect(
      table(
        ['ID', 'STATUS'],
        [
          ['dlv_1', 'failed'],
          ['dlv_22', null],
        ],
      ),
    ).toBe('ID      STATUS\ndlv_1   failed\ndlv_22  -\n');
  });

  it('colours tail lines by outcome, only when asked', () => {
    const attempt: TailLine = {
      kind: 'attempt',
      at: '2026-11-30T06:00:00.000Z',
      delivery_id: 'd',
      endpoint_id: 'e',
      event_id: 'v',
      status: 'pending',
      response_status: 500,
    };
    expect(outcome({ ...attempt, response_status: 204, status: 'succeeded' })).toBe('green');
    expect(outcome(attempt)).toBe('yellow');
    expect(outcome({ ...attempt, status: 'failed', response_status: null, error: 'refused' })).toBe('red');
    expect(paint('x', 'red', true)).toBe('\x1b[31mx\x1b[0m');
    expect(paint('x', 'red', false)).toBe('x');
  });

  it('reads --data as a JSON object, and says why not', () => {
    expect(readData('{"a":1}')).toEqual({ a: 1 });
    expect(() => readData('[1]')).toThrow(UsageError);
    expect(() => readData('{')).toThrow(/not JSON/);
    expect(() => readData('@/no/such/file.json')).toThrow(/cannot read the file/);
  });
});
