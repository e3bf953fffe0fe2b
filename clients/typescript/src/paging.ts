// Paged lists (page_token in, next_page_token out, empty at the end) as async iterators.

export interface Page<T> {
  items: T[];
  next_page_token: string;
}

/** Yields every item of every page, asking for the next page only when the last is used up. */
export async function* paginate<T>(
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T, void, undefined> {
  let token: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(token);
    yield* page.items;
    const next = page.next_page_token;
    // An empty token ends the list; a token seen before would loop forever.
    if (next === "" || seen.has(next)) return;
    seen.add(next);
    token = next;
  }
}
