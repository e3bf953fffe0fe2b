import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CityhubClient, CityhubError } from "../../src/index.js";
import {
  grpcError,
  json,
  recordingSleep,
  startServer,
  type TestServer,
} from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server that answers the scripted steps in turn ("drop" closes the connection unanswered). */
async function scripted(
  steps: Array<
    number | "drop" | { status: number; headers: Record<string, string> }
  >,
) {
  let i = 0;
  server = await startServer((_req, res) => {
    const step = steps[Math.min(i++, steps.length - 1)];
    if (step === "drop") {
      res.socket?.destroy();
      return;
    }
    const status = typeof step === "number" ? step : (step?.status ?? 500);
    const headers = typeof step === "object" ? step.headers : {};
    if (status < 300) json(res, status, { ok: true, n: i }, headers);
    else
      grpcError(
        res,
        status,
        status === 503 ? 14 : status === 429 ? 8 : 3,
        `status ${status}`,
        headers,
      );
  });
  return server;
}

function client(
  url: string,
  extra: Partial<ConstructorParameters<typeof CityhubClient>[0]> = {},
) {
  const rec = recordingSleep();
  const c = new CityhubClient({
    baseUrl: url,
    sleep: rec.sleep,
    random: () => 0.5,
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 },
    ...extra,
  });
  return { c, sleeps: rec.sleeps };
}

describe("retries", { timeout: 10_000 }, () => {
  it("retries 503 honouring Retry-After in seconds", async () => {
    const s = await scripted([
      { status: 503, headers: { "Retry-After": "2" } },
      200,
    ]);
    const { c, sleeps } = client(s.url);
    assert.deepEqual(await c.call("GET", "/v1/services"), { ok: true, n: 2 });
    assert.equal(s.seen.length, 2);
    assert.deepEqual(sleeps, [2000]);
  });

  it("retries 429 honouring Retry-After as an HTTP date", async () => {
    const now = Date.parse("2026-12-04T10:00:00Z");
    const s = await scripted([
      {
        status: 429,
        headers: { "Retry-After": new Date(now + 3000).toUTCString() },
      },
      200,
    ]);
    const { c, sleeps } = client(s.url, { now: () => now });
    await c.call("GET", "/v1/services");
    assert.equal(s.seen.length, 2);
    assert.deepEqual(sleeps, [3000]);
  });

  it("backs off exponentially with full jitter when there is no Retry-After", async () => {
    const s = await scripted([503, 503, 503, 200]);
    const { c, sleeps } = client(s.url);
    await c.call("GET", "/v1/services");
    assert.equal(s.seen.length, 4);
    // random() = 0.5 of the ceilings 100, 200, 400
    assert.deepEqual(sleeps, [50, 100, 200]);
  });

  it("bounds the attempts and then throws the last error", async () => {
    const s = await scripted([503]);
    const { c, sleeps } = client(s.url);
    await assert.rejects(c.call("GET", "/v1/services"), (e: CityhubError) => {
      assert.equal(e.status, 503);
      assert.equal(e.code, 14);
      return true;
    });
    assert.equal(s.seen.length, 4);
    assert.equal(sleeps.length, 3);
  });

  it("does not wait for a Retry-After beyond maxDelayMs", async () => {
    const s = await scripted([
      { status: 429, headers: { "Retry-After": "60" } },
      200,
    ]);
    const { c } = client(s.url);
    await assert.rejects(c.call("GET", "/v1/services"), (e: CityhubError) => {
      assert.equal(e.status, 429);
      assert.equal(e.retryAfterMs, 60_000);
      return true;
    });
    assert.equal(s.seen.length, 1);
  });

  for (const status of [400, 403, 404, 409]) {
    it(`never retries ${status}`, async () => {
      const s = await scripted([status, 200]);
      const { c, sleeps } = client(s.url);
      await assert.rejects(
        c.call("GET", "/v1/services"),
        (e: CityhubError) => e.status === status,
      );
      assert.equal(s.seen.length, 1);
      assert.deepEqual(sleeps, []);
    });
  }

  it("retries a network error", async () => {
    const s = await scripted(["drop", "drop", 200]);
    const { c, sleeps } = client(s.url);
    assert.deepEqual(await c.call("GET", "/v1/services"), { ok: true, n: 3 });
    assert.equal(s.seen.length, 3);
    assert.equal(sleeps.length, 2);
  });

  it("reports a network error as status 0, code UNAVAILABLE, after the last attempt", async () => {
    const s = await scripted(["drop"]);
    const { c } = client(s.url, { retry: { attempts: 2, baseDelayMs: 1 } });
    await assert.rejects(c.call("GET", "/v1/services"), (e: CityhubError) => {
      assert.ok(e instanceof CityhubError);
      assert.equal(e.status, 0);
      assert.equal(e.code, 14);
      return true;
    });
    assert.equal(s.seen.length, 2);
  });

  it("never retries a POST without an idempotency key", async () => {
    for (const first of [503, 429, "drop"] as const) {
      const s = await scripted([first, 201]);
      const { c } = client(s.url);
      await assert.rejects(
        c.accounts.register({
          email: "a@b.de",
          password: "secret-pass-1",
          display_name: "A",
          language: "de",
        } as Parameters<typeof c.accounts.register>[0]),
        CityhubError,
      );
      assert.equal(s.seen.length, 1, `first answer ${first}`);
      await s.close();
    }
    server = undefined;
  });

  it("stops waiting when the call is aborted", async () => {
    const ac = new AbortController();
    server = await startServer((_req, res) => {
      res.on("finish", () => ac.abort()); // abort once the 503 is out: the client waits then
      grpcError(res, 503, 14, "down");
    });
    const c = new CityhubClient({
      baseUrl: server.url,
      retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 1,
    });
    const started = Date.now();
    const p = c.call("GET", "/v1/services", { signal: ac.signal });
    await assert.rejects(
      p,
      (e: CityhubError) => e.code === 1 && e.status === 0,
    );
    assert.equal(server.seen.length, 1);
    assert.ok(Date.now() - started < 30_000);
  });
});

describe("idempotency keys", { timeout: 10_000 }, () => {
  it("keeps one key across the retries of a create and uses a new one for the next", async () => {
    const s = await scripted([503, "drop", 201, 201]);
    const { c } = client(s.url);
    const body = {
      service_code: "pothole",
      lat: 52.02,
      long: 8.53,
    } as Parameters<typeof c.requests.create>[0];
    await c.requests.create(body);
    await c.requests.create(body);
    assert.equal(s.seen.length, 4);
    const keys = s.seen.map((r) => r.headers["idempotency-key"]);
    for (const k of keys)
      assert.match(
        String(k),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    assert.equal(keys[0], keys[1]);
    assert.equal(keys[1], keys[2]);
    assert.notEqual(keys[2], keys[3]);
    assert.deepEqual(JSON.parse(s.seen[0]?.body ?? ""), body);
  });

  it("sends the caller's key as given", async () => {
    const s = await scripted([503, 201]);
    const { c } = client(s.url);
    await c.requests.create(
      { service_code: "x" } as Parameters<typeof c.requests.create>[0],
      {
        idempotencyKey: "offline-queue-key-1",
      },
    );
    assert.deepEqual(
      s.seen.map((r) => r.headers["idempotency-key"]),
      ["offline-queue-key-1", "offline-queue-key-1"],
    );
  });
});
