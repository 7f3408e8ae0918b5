import type { CallOptions } from './transport.js';

/** What a list route answers. */
export interface PageOf<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * Every item of a cursor-paged list, fetching one page at a time as the loop asks for more;
 * breaking out of the loop stops fetching. `fetchPage(cursor)` gets the page after `cursor`.
 */
export async function* paginate<T>(
  fetchPage: (cursor: string | undefined) => Promise<PageOf<T>>,
  start?: string,
): AsyncGenerator<T, void, undefined> {
  let cursor = start;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.data;
    if (page.next_cursor === null) return;
    cursor = page.next_cursor;
  }
}

/**
 * The events feed and an endpoint's stream always hand back a cursor (the last item's place), an
 * empty page included, so a poller keeps its place: the list is read to its current end, i.e. the
 * first empty page.
 */
export async function* readToEnd<T>(
  fetchPage: (after: string | undefined) => Promise<{ data: T[]; next_cursor: string }>,
  start?: string,
): AsyncGenerator<T, void, undefined> {
  let after = start;
  for (;;) {
    const page = await fetchPage(after);
    if (page.data.length === 0) return;
    yield* page.data;
    after = page.next_cursor;
  }
}

export type { CallOptions };
