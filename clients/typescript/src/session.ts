// The signed-in session: which access token to send, refreshing it ahead of expiry and after a
// 401, once for any number of concurrent callers (single flight).
import { CityhubError } from "./errors.js";
import type { TokenStore, Tokens } from "./tokens.js";

/** What the refresh route answers (TokenPair; `expires_in` is an int64, so maybe a string). */
export interface TokenPairLike {
  access_token: string;
  refresh_token: string;
  expires_in?: string | number;
}

export interface SessionOptions {
  store: TokenStore;
  /** POSTs /v1/sessions:refresh; throws CityhubError. */
  refresh: (refreshToken: string) => Promise<TokenPairLike>;
  now: () => number;
  /** Refresh when the access token has less than this left. */
  refreshAheadMs: number;
  /** Called when the session is lost (the refresh token was refused). */
  onLost: () => void;
}

interface LockManagerLike {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

export class Session {
  private inflight: Promise<Tokens | null> | null = null;
  private readonly listeners = new Set<(signedIn: boolean) => void>();
  private unsubscribeStore: (() => void) | undefined;
  private signedIn: boolean | undefined; // as last told to the listeners

  constructor(private readonly opts: SessionOptions) {}

  get store(): TokenStore {
    return this.opts.store;
  }

  current(): Tokens | null {
    return this.opts.store.get();
  }

  tokensFrom(pair: TokenPairLike): Tokens {
    const seconds = Number(pair.expires_in ?? 0);
    const lifetime =
      Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000;
    return {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      expires_at: this.opts.now() + lifetime,
    };
  }

  /** Stores a new session (after sign-in) and tells the listeners. */
  start(t: Tokens): void {
    this.opts.store.set(t);
    this.emit(true);
  }

  /** Forgets the session (sign-out, account deleted). */
  end(): void {
    const had = this.opts.store.get() !== null;
    this.opts.store.set(null);
    if (had) this.emit(false);
  }

  onChange(cb: (signedIn: boolean) => void): () => void {
    this.listeners.add(cb);
    if (
      this.unsubscribeStore === undefined &&
      this.opts.store.subscribe !== undefined
    ) {
      // Another tab signing in or out is a change too.
      this.signedIn = this.opts.store.get() !== null;
      this.unsubscribeStore = this.opts.store.subscribe(() => {
        const now = this.opts.store.get() !== null;
        if (now !== this.signedIn) this.emit(now);
      });
    }
    return () => {
      this.listeners.delete(cb);
      if (this.listeners.size === 0) {
        this.unsubscribeStore?.();
        this.unsubscribeStore = undefined;
      }
    };
  }

  /**
   * The access token to send now, or null when signed out. Refreshes first when it expires within
   * refreshAheadMs; if that refresh fails for a passing reason the old token is used while valid.
   */
  async accessToken(): Promise<string | null> {
    const cur = this.opts.store.get();
    if (cur === null) return null;
    if (cur.expires_at - this.opts.now() > this.opts.refreshAheadMs)
      return cur.access_token;
    try {
      const t = await this.refresh(cur);
      return t?.access_token ?? null;
    } catch (e) {
      if (cur.expires_at > this.opts.now()) return cur.access_token;
      throw e;
    }
  }

  /**
   * After a 401 to `sentAccessToken`: the token to retry with (refreshed once for all callers),
   * or null when the session is gone.
   */
  async recover(sentAccessToken: string): Promise<string | null> {
    const cur = this.opts.store.get();
    if (cur === null) return null;
    if (cur.access_token !== sentAccessToken) return cur.access_token; // refreshed meanwhile
    const t = await this.refresh(cur);
    return t?.access_token ?? null;
  }

  /**
   * Replaces `seen` by a new pair. Concurrent callers share one refresh call; a pair that changed
   * since `seen` (another call or tab refreshed) is taken as it is.
   */
  refresh(seen: Tokens): Promise<Tokens | null> {
    if (this.inflight !== null) return this.inflight;
    const p = this.withLock(() => this.runRefresh(seen));
    this.inflight = p;
    const clear = () => {
      if (this.inflight === p) this.inflight = null;
    };
    p.then(clear, clear);
    return p;
  }

  private async runRefresh(seen: Tokens): Promise<Tokens | null> {
    const cur = this.opts.store.get();
    if (cur === null) return null;
    if (cur.refresh_token !== seen.refresh_token) return cur;
    let pair: TokenPairLike;
    try {
      pair = await this.opts.refresh(cur.refresh_token);
    } catch (e) {
      if (e instanceof CityhubError && isRefusal(e)) {
        // Only if nobody replaced the pair while we asked.
        if (this.opts.store.get()?.refresh_token === cur.refresh_token) {
          this.opts.store.set(null);
          this.emit(false);
          this.opts.onLost();
        }
        return null;
      }
      throw e;
    }
    const t = this.tokensFrom(pair);
    this.opts.store.set(t);
    return t;
  }

  // Tabs sharing a LocalStorageTokenStore must not spend one refresh token twice (that revokes
  // the session): the Web Locks API serialises them where it exists.
  private withLock<T>(run: () => Promise<T>): Promise<T> {
    const nav = (globalThis as { navigator?: { locks?: LockManagerLike } })
      .navigator;
    const locks = nav?.locks;
    if (locks === undefined || typeof locks.request !== "function")
      return run();
    return locks.request("cityhub-token-refresh", run);
  }

  private emit(signedIn: boolean): void {
    this.signedIn = signedIn;
    for (const cb of [...this.listeners]) {
      try {
        cb(signedIn);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

/** An answer that means the refresh token will never work again. */
function isRefusal(e: CityhubError): boolean {
  return (
    e.status === 400 || e.status === 401 || e.status === 403 || e.status === 404
  );
}
