import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { afterEach, describe, it } from "node:test";
import {
  CityhubClient,
  CityhubError,
  MemoryTokenStore,
  SseParser,
} from "../../src/index.js";
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

function note(id: string): string {
  return JSON.stringify({
    notification_id: id,
    kind: "KIND_OWN_REQUEST_STATUS",
    title: `t ${id}`,
  });
}

function openStream(res: ServerResponse): void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.write(": stream open\n\n");
}

function signedIn(access = "A1"): MemoryTokenStore {
  const store = new MemoryTokenStore();
  store.set({
    access_token: access,
    refresh_token: "R1",
    expires_at: Date.now() + 3_600_000,
  });
  return store;
}

describe("SseParser", () => {
  it("handles CRLF, CR, LF, chunk splits, multi-line data, comments and a BOM", () => {
    const p = new SseParser();
    const text =
      '\uFEFF: stream open\r\n\r\nid: 1\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\n' +
      "id: 2\rdata: x\r\revent: error\ndata:no-space\n\nid: 3\n\n";
    const events = [];
    // one character at a time: every split point, a CR and its LF in different chunks too
    for (const ch of text) events.push(...p.push(ch));
    assert.deepEqual(events, [
      { id: "1", event: "message", data: '{"a":\n1}' },
      { id: "2", event: "message", data: "x" },
      { event: "error", data: "no-space" },
      { id: "3", event: "message", data: "" },
    ]);
  });

  it("parses the same text in one chunk", () => {
    const p = new SseParser();
    assert.deepEqual(
      p.push("data: a\n\ndata: b\ndata: c\n\n: hb\n\ndata: unfinished"),
      [
        { event: "message", data: "a" },
        { event: "message", data: "b\nc" },
      ],
    );
    assert.deepEqual(p.push("\n\n"), [
      { event: "message", data: "unfinished" },
    ]);
  });
});

// A broken stream would hang rather than fail: each test has a deadline.
describe("notifications.stream", { timeout: 10_000 }, () => {
  it("resumes with Last-Event-ID after a drop and yields a replayed duplicate once", async () => {
    const lastIds: Array<string | undefined> = [];
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/notifications:stream");
      assert.equal(req.headers.authorization, "Bearer A1");
      assert.equal(req.headers.accept, "text/event-stream");
      lastIds.push(req.headers["last-event-id"] as string | undefined);
      openStream(res);
      if (lastIds.length === 1) {
        res.write(`id: n1\ndata: ${note("n1")}\n\n`);
        // the connection breaks once both events are out
        res.write(`id: n2\r\ndata: ${note("n2")}\r\n\r\n`, () =>
          res.socket?.destroy(),
        );
      } else {
        // the server replays the last one again (a duplicate), then the new ones
        res.write(`id: n2\ndata: ${note("n2")}\n\n: heartbeat\n\n`);
        res.write(`id: n3\ndata: ${note("n3")}\n\n`);
        res.write(`id: n4\ndata: ${note("n4")}\n\n`);
      }
    });
    const { sleeps, sleep } = recordingSleep();
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
      sleep,
    });
    const got: string[] = [];
    for await (const n of client.notifications.stream()) {
      got.push(String(n.notification_id));
      if (got.length === 4) break;
    }
    assert.deepEqual(got, ["n1", "n2", "n3", "n4"]);
    assert.deepEqual(lastIds, [undefined, "n2"]);
    assert.equal(sleeps.length, 1, "one backoff wait before the reconnect");
  });

  it("reconnects after the server's error event and sends the id it was given", async () => {
    const lastIds: Array<string | undefined> = [];
    server = await startServer((req, res) => {
      lastIds.push(req.headers["last-event-id"] as string | undefined);
      openStream(res);
      if (lastIds.length === 1) {
        res.end(
          `id: n8\ndata: ${note("n8")}\n\nevent: error\ndata: {"code":4,"message":"deadline"}\n\n`,
        );
      } else {
        res.write(`id: n9\ndata: ${note("n9")}\n\n`);
      }
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
      sleep: recordingSleep().sleep,
    });
    const got: string[] = [];
    for await (const n of client.notifications.stream({ lastEventId: "n7" })) {
      got.push(String(n.notification_id));
      if (got.length === 2) break;
    }
    assert.deepEqual(got, ["n8", "n9"]);
    assert.deepEqual(lastIds, ["n7", "n8"]);
  });

  it("backs off further while connections end without news", async () => {
    let connections = 0;
    server = await startServer((_req, res) => {
      connections++;
      openStream(res);
      if (connections < 4)
        res.end(`event: error\ndata: {"code":14,"message":"backend down"}\n\n`);
      else res.write(`id: n1\ndata: ${note("n1")}\n\n`);
    });
    const { sleeps, sleep } = recordingSleep();
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
      sleep,
      random: () => 0.5,
      retry: { baseDelayMs: 200 },
    });
    for await (const n of client.notifications.stream()) {
      assert.equal(n.notification_id, "n1");
      break;
    }
    assert.deepEqual(sleeps, [100, 200, 400]);
  });

  it("refreshes the token when the stream answers 401", async () => {
    let refreshes = 0;
    server = await startServer((req, res) => {
      if (req.path === "/v1/sessions:refresh") {
        refreshes++;
        json(res, 200, {
          access_token: "A2",
          refresh_token: "R2",
          expires_in: "600",
        });
        return;
      }
      if (req.headers.authorization !== "Bearer A2") {
        grpcError(res, 401, 16, "token expired");
        return;
      }
      openStream(res);
      res.write(`id: n1\ndata: ${note("n1")}\n\n`);
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
    });
    for await (const n of client.notifications.stream()) {
      assert.equal(n.notification_id, "n1");
      break;
    }
    assert.equal(refreshes, 1);
  });

  it("throws when the stream is refused for good", async () => {
    server = await startServer((_req, res) =>
      grpcError(res, 403, 7, "not yours"),
    );
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
    });
    await assert.rejects(
      async () => {
        for await (const n of client.notifications.stream())
          assert.fail(`unexpected ${String(n)}`);
      },
      (e: CityhubError) => e.status === 403 && e.code === 7,
    );
  });

  it("reconnects when the connection goes silent", async () => {
    let connections = 0;
    server = await startServer((_req, res) => {
      connections++;
      openStream(res);
      // the first connection stays open and silent (no heartbeat); later ones have news
      if (connections > 1) res.write(`id: n1\ndata: ${note("n1")}\n\n`);
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
      sleep: recordingSleep().sleep,
      streamIdleTimeoutMs: 300,
    });
    for await (const n of client.notifications.stream()) {
      assert.equal(n.notification_id, "n1");
      break;
    }
    assert.ok(connections >= 2);
  });

  it("ends when the signal aborts", async () => {
    server = await startServer((_req, res) => {
      openStream(res);
      res.write(`id: n1\ndata: ${note("n1")}\n\n`);
    });
    const ac = new AbortController();
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedIn(),
    });
    const got: string[] = [];
    for await (const n of client.notifications.stream({ signal: ac.signal })) {
      got.push(String(n.notification_id));
      ac.abort();
    }
    assert.deepEqual(got, ["n1"]);
  });
});
