import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  CityhubClient,
  CityhubError,
  MemoryTokenStore,
  LocalStorageTokenStore,
} from "../../src/index.js";
import {
  deferred,
  grpcError,
  json,
  recordingSleep,
  startServer,
  type TestServer,
} from "./server.js";

const FAR = Date.now() + 3_600_000;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function signedInStore(
  access = "A1",
  refresh = "R1",
  expiresAt = FAR,
): MemoryTokenStore {
  const store = new MemoryTokenStore();
  store.set({
    access_token: access,
    refresh_token: refresh,
    expires_at: expiresAt,
  });
  return store;
}

describe("refresh", { timeout: 10_000 }, () => {
  it("refreshes once for many concurrent 401s and retries each call once", async () => {
    const n = 8;
    let stale = 0;
    let refreshes = 0;
    const allStale = deferred();
    server = await startServer(async (req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        refreshes++;
        assert.deepEqual(JSON.parse(req.body), { refresh_token: "R1" });
        await allStale.promise; // answer only once every call has seen its 401
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: "600",
        });
        return;
      }
      if (req.headers.authorization === "Bearer A2") {
        json(res, 200, { account_id: "acc", email: "a@b.de" });
        return;
      }
      assert.equal(req.headers.authorization, "Bearer A1");
      if (++stale === n) allStale.resolve();
      grpcError(res, 401, 16, "token expired");
    });
    const store = signedInStore();
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: store,
    });
    const results = await Promise.all(
      Array.from({ length: n }, () => client.accounts.me()),
    );
    assert.equal(refreshes, 1);
    assert.equal(results.length, n);
    for (const r of results) assert.equal(r.account_id, "acc");
    const gets = server.seen.filter((s) => s.path === "/v1/me");
    assert.equal(
      gets.length,
      2 * n,
      "each call is sent twice: once stale, once refreshed",
    );
    assert.equal(
      gets.filter((s) => s.headers.authorization === "Bearer A2").length,
      n,
    );
    assert.equal(store.get()?.refresh_token, "R2");
    assert.equal(store.get()?.access_token, "A2");
  });

  it("does not refresh again for a 401 that arrives after the refresh", async () => {
    let refreshes = 0;
    let stale = 0;
    const refreshed = deferred();
    server = await startServer(async (req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        refreshes++;
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: "600",
        });
        res.on("finish", () => refreshed.resolve());
        return;
      }
      if (req.headers.authorization === "Bearer A2") {
        json(res, 200, { account_id: "acc" });
        return;
      }
      if (++stale === 2) await refreshed.promise; // the second stale call learns late
      grpcError(res, 401, 16, "token expired");
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedInStore(),
    });
    await Promise.all([client.accounts.me(), client.accounts.me()]);
    assert.equal(refreshes, 1);
  });

  it("retries a call once after a refresh, not again", async () => {
    let n = 0;
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        n++;
        json(res, 200, {
          access_token: `A${n + 1}`,
          refresh_token: `R${n + 1}`,
          expires_in: "600",
        });
        return;
      }
      grpcError(res, 401, 16, "no");
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedInStore(),
    });
    await assert.rejects(
      client.accounts.me(),
      (e: CityhubError) => e.status === 401,
    );
    assert.deepEqual(
      server.seen.map((s) => `${s.path} ${s.headers.authorization ?? ""}`),
      ["/v1/me Bearer A1", "/v1/sessions:refresh ", "/v1/me Bearer A2"],
    );
  });

  it("does not count the repeat after a refresh against the retry budget", async () => {
    const { sleep } = recordingSleep();
    let gets = 0;
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: "600",
        });
        return;
      }
      gets++;
      if (gets === 1) grpcError(res, 401, 16, "expired");
      else if (gets === 2) grpcError(res, 503, 14, "busy");
      else json(res, 200, { account_id: "acc" });
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedInStore(),
      sleep,
      retry: { attempts: 2 },
    });
    assert.equal((await client.accounts.me()).account_id, "acc");
    assert.equal(gets, 3);
  });

  it("signs out without a retry loop when the refresh is refused", async () => {
    let refreshes = 0;
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        refreshes++;
        grpcError(res, 401, 16, "session revoked");
        return;
      }
      grpcError(res, 401, 16, "token expired", { "X-Request-Id": "r-401" });
    });
    const store = signedInStore();
    let signedOut = 0;
    const changes: boolean[] = [];
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: store,
      onSignedOut: () => signedOut++,
    });
    client.onAuthChange((s) => changes.push(s));
    const errors = await Promise.allSettled([
      client.accounts.me(),
      client.accounts.me(),
      client.accounts.me(),
    ]);
    for (const e of errors) {
      assert.equal(e.status, "rejected");
      const err = (e as PromiseRejectedResult).reason as CityhubError;
      assert.ok(err instanceof CityhubError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 16);
    }
    assert.equal(refreshes, 1);
    assert.equal(server.seen.filter((s) => s.path === "/v1/me").length, 3);
    assert.equal(signedOut, 1);
    assert.deepEqual(changes, [false]);
    assert.equal(store.get(), null);
    assert.equal(client.isSignedIn(), false);
  });

  it("keeps the session when the refresh fails for a passing reason", async () => {
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        grpcError(res, 503, 14, "backend down");
        return;
      }
      grpcError(res, 401, 16, "token expired");
    });
    const store = signedInStore();
    let signedOut = 0;
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: store,
      onSignedOut: () => signedOut++,
    });
    await assert.rejects(
      client.accounts.me(),
      (e: CityhubError) => e.status === 503,
    );
    assert.equal(signedOut, 0);
    assert.equal(store.get()?.refresh_token, "R1");
    // the refresh POST is not retried: a replayed refresh token would revoke the session
    assert.equal(
      server.seen.filter((s) => s.path === "/v1/sessions:refresh").length,
      1,
    );
  });

  it("refreshes ahead of expiry before sending", async () => {
    const now = 1_000_000;
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: 600,
        });
        return;
      }
      assert.equal(req.headers.authorization, "Bearer A2");
      json(res, 200, { account_id: "acc" });
    });
    const store = signedInStore("A1", "R1", now + 10_000);
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: store,
      now: () => now,
      refreshAheadMs: 60_000,
    });
    await client.accounts.me();
    assert.deepEqual(
      server.seen.map((s) => s.path),
      ["/v1/sessions:refresh", "/v1/me"],
    );
    assert.equal(store.get()?.expires_at, now + 600_000);
  });

  it("signs in, sends the token, signs out revoking the refresh token", async () => {
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions") {
        assert.equal(req.headers.authorization, undefined);
        json(res, 200, {
          access_token: "A1",
          refresh_token: "R1",
          token_type: "Bearer",
          expires_in: "600",
        });
      } else if (req.path === "/v1/sessions:signOut") {
        assert.equal(req.headers.authorization, "Bearer A1");
        assert.deepEqual(JSON.parse(req.body), { refresh_token: "R1" });
        json(res, 200, {});
      } else {
        assert.equal(req.headers.authorization, "Bearer A1");
        json(res, 200, { account_id: "acc" });
      }
    });
    const changes: boolean[] = [];
    const client = new CityhubClient({ baseUrl: server.url });
    client.onAuthChange((s) => changes.push(s));
    await client.signIn("a@b.de", "pw");
    assert.equal(client.isSignedIn(), true);
    await client.accounts.me();
    await client.signOut();
    assert.equal(client.isSignedIn(), false);
    assert.deepEqual(changes, [true, false]);
    assert.deepEqual(
      server.seen.map((s) => s.path),
      ["/v1/sessions", "/v1/me", "/v1/sessions:signOut"],
    );
  });

  it("keeps tokens in a Storage", () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    } as unknown as Storage;
    const store = new LocalStorageTokenStore("k", storage);
    assert.equal(store.get(), null);
    store.set({ access_token: "a", refresh_token: "r", expires_at: 5 });
    assert.deepEqual(new LocalStorageTokenStore("k", storage).get(), {
      access_token: "a",
      refresh_token: "r",
      expires_at: 5,
    });
    map.set("k", "{not json");
    assert.equal(store.get(), null);
    store.set(null);
    assert.equal(map.has("k"), false);
  });

  it("tells the listeners when another tab signs in or out", () => {
    const map = new Map<string, string>();
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    } as unknown as Storage;
    const win = new EventTarget();
    const g = globalThis as unknown as Record<string, unknown>;
    g.addEventListener = win.addEventListener.bind(win);
    g.removeEventListener = win.removeEventListener.bind(win);
    try {
      const client = new CityhubClient({
        tokenStore: new LocalStorageTokenStore("k", storage),
      });
      const changes: boolean[] = [];
      const off = client.onAuthChange((s) => changes.push(s));
      const otherTab = (key: string | null) =>
        win.dispatchEvent(Object.assign(new Event("storage"), { key }));
      map.set(
        "k",
        JSON.stringify({
          access_token: "a",
          refresh_token: "r",
          expires_at: 1,
        }),
      );
      otherTab("k");
      otherTab("unrelated");
      map.set(
        "k",
        JSON.stringify({
          access_token: "a2",
          refresh_token: "r2",
          expires_at: 2,
        }),
      );
      otherTab("k"); // a refresh in the other tab: still signed in
      map.delete("k");
      otherTab(null); // storage cleared
      off();
      map.set(
        "k",
        JSON.stringify({
          access_token: "a",
          refresh_token: "r",
          expires_at: 1,
        }),
      );
      otherTab("k");
      assert.deepEqual(changes, [true, false]);
    } finally {
      delete g.addEventListener;
      delete g.removeEventListener;
    }
  });

  it("does not wait between a 401 and its retry", async () => {
    const { sleeps, sleep } = recordingSleep();
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: "600",
        });
      } else if (req.headers.authorization === "Bearer A2") {
        json(res, 200, {});
      } else {
        grpcError(res, 401, 16, "expired");
      }
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedInStore(),
      sleep,
    });
    await client.call("GET", "/v1/me");
    assert.deepEqual(sleeps, []);
  });
});
