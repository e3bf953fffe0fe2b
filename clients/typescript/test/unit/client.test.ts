import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  CityhubClient,
  CityhubError,
  MemoryTokenStore,
} from "../../src/index.js";
import { parseRetryAfter } from "../../src/errors.js";
import { encodeQuery } from "../../src/core.js";
import { json, startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("CityhubError", { timeout: 10_000 }, () => {
  it("carries code, message, status, request id and details from the gateway's body", async () => {
    server = await startServer((_req, res) =>
      json(
        res,
        404,
        {
          code: 5,
          message: "request not found",
          details: [{ field: "request_id" }],
        },
        { "X-Request-Id": "01JREQUESTID" },
      ),
    );
    const client = new CityhubClient({ baseUrl: server.url });
    const err = await client.requests.get("nope").then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CityhubError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "CityhubError");
    assert.equal(err.code, 5);
    assert.equal(err.status, 404);
    assert.equal(err.message, "request not found");
    assert.equal(err.requestId, "01JREQUESTID");
    assert.deepEqual(err.details, [{ field: "request_id" }]);
    assert.equal(err.retryAfterMs, undefined);
  });

  it("maps an answer without the error body by its status", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(502, { "Content-Type": "text/html" });
      res.end("<html>bad gateway</html>");
    });
    const client = new CityhubClient({ baseUrl: server.url });
    await assert.rejects(client.call("GET", "/v1/x"), (e: CityhubError) => {
      assert.equal(e.code, 14);
      assert.equal(e.status, 502);
      assert.equal(e.requestId, "");
      assert.deepEqual(e.details, []);
      return true;
    });
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-12-04T10:00:00Z");
    assert.equal(parseRetryAfter("7", now), 7000);
    assert.equal(parseRetryAfter("Fri, 04 Dec 2026 10:00:05 GMT", now), 5000);
    assert.equal(parseRetryAfter("Fri, 04 Dec 2026 09:00:05 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe("calls", { timeout: 10_000 }, () => {
  it("encodes queries: repeated arrays, dotted objects, dates, skipping undefined", () => {
    assert.equal(
      encodeQuery({
        status: ["SUBMITTED", "ACKNOWLEDGED"],
        lat: 52.1,
        page_token: undefined,
        since: new Date("2026-11-25T08:00:00Z"),
        unread_only: true,
        box: { min_lat: 1 },
      }),
      "status=SUBMITTED&status=ACKNOWLEDGED&lat=52.1&since=2026-11-25T08%3A00%3A00.000Z&unread_only=true&box.min_lat=1",
    );
  });

  it("iterates every page of a list, asking for a page only when needed", async () => {
    const pages: Record<
      string,
      { requests: { request_id: string }[]; next_page_token: string }
    > = {
      "": {
        requests: [{ request_id: "r1" }, { request_id: "r2" }],
        next_page_token: "p2",
      },
      p2: { requests: [], next_page_token: "p3" },
      p3: { requests: [{ request_id: "r3" }], next_page_token: "" },
    };
    server = await startServer((req, res) => {
      const u = new URL(req.path, "http://x");
      assert.equal(u.pathname, "/v1/requests");
      assert.equal(u.searchParams.get("service_code"), "pothole");
      json(res, 200, pages[u.searchParams.get("page_token") ?? ""]);
    });
    const client = new CityhubClient({ baseUrl: server.url });
    const ids: string[] = [];
    for await (const r of client.requests.list({
      service_code: ["pothole"],
    } as never)) {
      ids.push(String(r.request_id));
      if (ids.length === 1)
        assert.equal(server.seen.length, 1, "lazy: one page so far");
    }
    assert.deepEqual(ids, ["r1", "r2", "r3"]);
    assert.equal(server.seen.length, 3);
    const page = await client.requests.listPage({
      service_code: ["pothole"],
      page_token: "p3",
    } as never);
    assert.deepEqual(page, {
      requests: [{ request_id: "r3" }],
      next_page_token: "",
    });
  });

  it("uploads raw bytes with their type and reports the final progress (fetch)", async () => {
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/media");
      assert.equal(req.headers["content-type"], "image/png");
      assert.equal(req.headers.authorization, "Bearer A1");
      json(res, 201, {
        media_id: "m1",
        url: "/v1/media/m1",
        size_bytes: String(req.body.length),
      });
    });
    const store = new MemoryTokenStore();
    store.set({
      access_token: "A1",
      refresh_token: "R1",
      expires_at: Date.now() + 3_600_000,
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: store,
      xhr: null,
    });
    const progress: Array<[number, number]> = [];
    const media = await client.media.upload(
      new Uint8Array([1, 2, 3, 4, 5]),
      "image/png",
      {
        onProgress: (sent, total) => progress.push([sent, total]),
      },
    );
    assert.equal(media.media_id, "m1");
    assert.deepEqual(progress, [[5, 5]]);
    assert.equal(server.seen[0]?.body.length, 5);
  });

  it("uploads through XMLHttpRequest with progress events where there is one", async () => {
    server = await startServer((_req, res) =>
      json(res, 201, { media_id: "m2", url: "/v1/media/m2" }),
    );
    const url = server.url;
    const events: string[] = [];
    // A minimal XMLHttpRequest over fetch, standing in for a browser's.
    class FakeXhr {
      upload: { onprogress: ((e: ProgressEvent) => void) | null } = {
        onprogress: null,
      };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      ontimeout: (() => void) | null = null;
      onabort: (() => void) | null = null;
      status = 0;
      responseText = "";
      private method = "";
      private target = "";
      private headers: Record<string, string> = {};
      private resHeaders = new Headers();
      open(method: string, target: string) {
        this.method = method;
        this.target = target;
        events.push(`open ${method} ${target.slice(url.length)}`);
      }
      setRequestHeader(k: string, v: string) {
        this.headers[k] = v;
      }
      getResponseHeader(k: string) {
        return this.resHeaders.get(k);
      }
      abort() {}
      send(body: Uint8Array) {
        this.upload.onprogress?.({
          loaded: 2,
          total: 4,
          lengthComputable: true,
        } as ProgressEvent);
        this.upload.onprogress?.({
          loaded: 4,
          total: 4,
          lengthComputable: true,
        } as ProgressEvent);
        fetch(this.target, {
          method: this.method,
          headers: this.headers,
          body: body as unknown as BodyInit,
        }).then(
          async (r) => {
            this.status = r.status;
            this.resHeaders = r.headers;
            this.responseText = await r.text();
            this.onload?.();
          },
          () => this.onerror?.(),
        );
      }
    }
    const client = new CityhubClient({ baseUrl: url, xhr: FakeXhr });
    const progress: Array<[number, number]> = [];
    const media = await client.media.upload(
      new Uint8Array([9, 8, 7, 6]),
      "image/jpeg",
      {
        onProgress: (sent, total) => progress.push([sent, total]),
      },
    );
    assert.equal(media.media_id, "m2");
    assert.deepEqual(events, ["open POST /v1/media"]);
    assert.deepEqual(progress, [
      [2, 4],
      [4, 4],
    ]);
    assert.equal(server.seen[0]?.headers["content-type"], "image/jpeg");
  });
});

describe("stats", { timeout: 10_000 }, () => {
  it("asks GET /v1/stats with the filters given, without a token", async () => {
    const answer = {
      since: "2026-11-01T00:00:00Z",
      until: "2026-12-01T00:00:00Z",
      group_by: "week",
      total: 2,
      by_status: [{ status: "SUBMITTED", count: 2 }],
      by_service: [],
      by_district: [],
      periods: [{ start: "2026-10-26T00:00:00Z", received: 2, closed: 0 }],
      time_to_acknowledge: { count: 0 },
      time_to_resolve: { count: 0 },
      within_sla: { count: 0 },
      feedback: { count: 0 },
    };
    server = await startServer((req, res) => {
      const u = new URL(req.path, "http://x");
      assert.equal(u.pathname, "/v1/stats");
      assert.equal(u.searchParams.get("group_by"), "week");
      assert.equal(u.searchParams.get("service_code"), "pothole");
      assert.equal(u.searchParams.has("district"), false);
      assert.equal(req.headers.authorization, undefined);
      json(res, 200, answer);
    });
    const client = new CityhubClient({ baseUrl: server.url });
    const s = await client.stats({
      group_by: "week",
      service_code: "pothole",
    });
    assert.deepEqual(s, answer);
  });
});
