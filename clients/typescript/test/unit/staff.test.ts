import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CityhubClient, CityhubError } from "../../src/index.js";
import { grpcError, json, startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const id = (n: number) =>
  `01JDQ5C3M0A7T5RJ7K2B9XW${String(n).padStart(3, "0")}`;

/** A server listing `total` requests in pages of `per` (fewer than asked, as the API may). */
function pagedRequests(total: number, per: number) {
  return startServer((req, res) => {
    const url = new URL(req.path, "http://x");
    const from = Number(url.searchParams.get("page_token") || "0");
    const to = Math.min(total, from + per);
    json(res, 200, {
      requests: Array.from({ length: to - from }, (_, i) => ({
        request_id: id(from + i),
      })),
      next_page_token: to < total ? String(to) : "",
    });
  });
}

describe("staff", { timeout: 10_000 }, () => {
  it("counts every matching request across short pages when below the cap", async () => {
    server = await pagedRequests(23, 7);
    const client = new CityhubClient({ baseUrl: server.url });
    const c = await client.staff.count(
      { department: "roads", status: ["SUBMITTED"] },
      100,
    );
    assert.deepEqual(c, { count: 23, exact: true });
    assert.equal(server.seen.length, 4);
    const q = new URL(server.seen[0]!.path, "http://x").searchParams;
    assert.equal(q.get("department"), "roads");
    assert.equal(q.get("status"), "SUBMITTED");
    assert.equal(q.get("page_size"), "100");
  });

  it("says a count is a lower bound when more requests follow the cap", async () => {
    server = await pagedRequests(50, 10);
    const client = new CityhubClient({ baseUrl: server.url });
    assert.deepEqual(await client.staff.count({}, 20), {
      count: 20,
      exact: false,
    });
    assert.equal(server.seen.length, 3);
  });

  it("counts exactly when the list holds exactly the cap", async () => {
    server = await pagedRequests(20, 10);
    const client = new CityhubClient({ baseUrl: server.url });
    assert.deepEqual(await client.staff.count({}, 20), {
      count: 20,
      exact: true,
    });
  });

  it("acknowledges each request once, reports each failure and goes on", async () => {
    let inFlight = 0;
    let most = 0;
    server = await startServer(async (req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      const m = /^\/v1\/requests\/([^/:]+):transition$/.exec(req.path);
      if (!m) return grpcError(res, 404, 5, "no route");
      if (m[1] === id(2))
        return grpcError(res, 400, 9, "status: SUBMITTED → ACKNOWLEDGED only");
      json(res, 200, { request_id: m[1], status: "ACKNOWLEDGED" });
    });
    const client = new CityhubClient({ baseUrl: server.url });
    const ids = [1, 2, 3, 4, 5].map(id);
    const out = await client.staff.acknowledgeAll(ids, {
      public_note: "Wir sehen es uns an.",
      parallel: 2,
    });
    assert.deepEqual(
      out.map((o) => [o.request_id, o.ok]),
      ids.map((i) => [i, i !== id(2)]),
    );
    const failed = out[1]!;
    assert.ok(!failed.ok && failed.error instanceof CityhubError);
    assert.equal(server.seen.length, 5, "no retry of a refused move");
    assert.ok(most <= 2, `at most 2 at a time, saw ${most}`);
    for (const s of server.seen) {
      assert.equal(s.method, "POST");
      assert.deepEqual(JSON.parse(s.body), {
        status: "ACKNOWLEDGED",
        public_note: "Wir sehen es uns an.",
      });
    }
  });

  it("sends assign, reroute, moderate and hide to their routes with their bodies", async () => {
    server = await startServer((_req, res) =>
      json(res, 200, { request_id: id(1) }),
    );
    const client = new CityhubClient({ baseUrl: server.url });
    await client.staff.assign(id(1), "");
    await client.staff.reroute(id(1), {
      service_code: "streetlight",
      internal_note: "falsche Kategorie",
    });
    await client.staff.moderate(id(1), {
      hide_media_ids: ["a".repeat(64)],
      reason: "a face",
    });
    await client.staff.hideComment(id(1), "c1", "insult");
    assert.deepEqual(
      server.seen.map((s) => [s.method, s.path, JSON.parse(s.body)]),
      [
        ["POST", `/v1/requests/${id(1)}:assign`, { assignee_account_id: "" }],
        [
          "POST",
          `/v1/requests/${id(1)}:reroute`,
          { service_code: "streetlight", internal_note: "falsche Kategorie" },
        ],
        [
          "POST",
          `/v1/requests/${id(1)}:moderate`,
          { hide_media_ids: ["a".repeat(64)], reason: "a face" },
        ],
        [
          "POST",
          `/v1/requests/${id(1)}/comments/c1:hide`,
          { reason: "insult" },
        ],
      ],
    );
  });

  it("reads every page of the response templates", async () => {
    server = await startServer((req, res) => {
      const q = new URL(req.path, "http://x").searchParams;
      const second = q.get("page_token") === "p2";
      json(res, 200, {
        templates: [{ template_id: second ? "t2" : "t1", title: "x" }],
        next_page_token: second ? "" : "p2",
      });
    });
    const client = new CityhubClient({ baseUrl: server.url });
    const all = await client.staff.responseTemplates("roads");
    assert.deepEqual(
      all.map((t) => t.template_id),
      ["t1", "t2"],
    );
    assert.equal(
      new URL(server.seen[0]!.path, "http://x").searchParams.get("department"),
      "roads",
    );
  });
});
