/**
 * JSON text with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one text. One rule
 * for the sender (an `Idempotency-Key` compares request bodies by it) and the receiver (a polled
 * copy of an event is compared with the pushed one by it).
 *
 * Written with an explicit stack, not recursion: the value comes from a request body, and a body
 * nested some thousands of levels deep must not overflow the call stack (8 KB of `[` is enough).
 * Keys whose value is `undefined` are left out and `undefined` array items written as `null`, as
 * JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work to do, last first: a value to write, or text to copy as it is.
  const todo: Array<{ text: string } | { value: unknown }> = [{ value }];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    if ('text' in next) {
      out.push(next.text);
      continue;
    }
    const v = next.value;
    if (Array.isArray(v)) {
      todo.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] === undefined ? null : v[i] });
        if (i > 0) todo.push({ text: ',' });
      }
      todo.push({ text: '[' });
    } else if (v !== null && typeof v === 'object') {
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      todo.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        todo.push({ value: record[key] });
        todo.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(key)}:` });
      }
      todo.push({ text: '{' });
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  }
  return out.join('');
}
