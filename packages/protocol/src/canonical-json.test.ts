import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts object keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[3,{"c":2,"d":1}]}');
    expect(canonicalJson(JSON.parse('{"b":2,"a":1}'))).toBe(canonicalJson(JSON.parse('{"a":1,"b":2}')));
  });

  it('writes what JSON.stringify writes for a value without objects to sort', () => {
    for (const v of [null, 1, 'é"\n', true, [], {}, [1, [2, [null]]], { a: undefined, b: [undefined] }]) {
      expect(canonicalJson(v)).toBe(JSON.stringify(v));
    }
  });

  it('does not overflow the stack on a value nested 100,000 levels deep', () => {
    const depth = 100_000;
    const text = `${'{"a":['.repeat(depth)}${']}'.repeat(depth)}`;
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});
