/** A session's tokens. `expires_at` is when the access token expires, in ms since the epoch. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_at: number;
}

/** Where the client keeps its tokens. Synchronous, so that every call sees the latest pair. */
export interface TokenStore {
  get(): Tokens | null;
  set(t: Tokens | null): void;
  /** Optional: calls `cb` when someone else (another tab) changed the tokens; returns the unsubscribe. */
  subscribe?(cb: () => void): () => void;
}

/** Keeps the tokens in memory: they are gone when the page or process ends. */
export class MemoryTokenStore implements TokenStore {
  private tokens: Tokens | null = null;

  get(): Tokens | null {
    return this.tokens;
  }

  set(t: Tokens | null): void {
    this.tokens = t;
  }
}

/**
 * Keeps the tokens in `localStorage` (or any Storage) under one key, shared by the tabs of an
 * origin. Anything unreadable in the slot counts as signed out.
 */
export class LocalStorageTokenStore implements TokenStore {
  private readonly key: string;
  private readonly storage: Storage;

  constructor(key = "cityhub.tokens", storage?: Storage) {
    const s =
      storage ?? (globalThis as { localStorage?: Storage }).localStorage;
    if (s === undefined)
      throw new Error("LocalStorageTokenStore: no localStorage here");
    this.key = key;
    this.storage = s;
  }

  get(): Tokens | null {
    let text: string | null;
    try {
      text = this.storage.getItem(this.key);
    } catch {
      return null;
    }
    if (text === null) return null;
    try {
      const v = JSON.parse(text) as Partial<Tokens> | null;
      if (
        v !== null &&
        typeof v.access_token === "string" &&
        typeof v.refresh_token === "string" &&
        typeof v.expires_at === "number"
      ) {
        return {
          access_token: v.access_token,
          refresh_token: v.refresh_token,
          expires_at: v.expires_at,
        };
      }
    } catch {
      // fall through: a damaged slot is no session
    }
    return null;
  }

  set(t: Tokens | null): void {
    if (t === null) this.storage.removeItem(this.key);
    else this.storage.setItem(this.key, JSON.stringify(t));
  }

  /** Other tabs' changes to the slot, by the window's `storage` event. */
  subscribe(cb: () => void): () => void {
    const target = globalThis as Partial<
      Pick<Window, "addEventListener" | "removeEventListener">
    >;
    if (
      target.addEventListener === undefined ||
      target.removeEventListener === undefined
    ) {
      return () => undefined;
    }
    const onStorage = (e: Event) => {
      const key = (e as StorageEvent).key;
      if (key === this.key || key === null) cb();
    };
    target.addEventListener("storage", onStorage);
    return () => target.removeEventListener?.("storage", onStorage);
  }
}
