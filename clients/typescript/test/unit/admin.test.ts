import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  CityhubClient,
  CityhubError,
  MemoryTokenStore,
  SERVICE_EDITABLE_FIELDS,
} from "../../src/index.js";
import { grpcError, json, startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function signedInClient(url: string): CityhubClient {
  return new CityhubClient({ baseUrl: url, tokenStore: signedInStore() });
}

describe("admin: catalogue", { timeout: 10_000 }, () => {
  it("creates a category with the token and the object itself as the body", async () => {
    server = await startServer((req, res) => {
      assert.equal(req.method, "POST");
      assert.equal(req.path, "/v1/services");
      assert.equal(req.headers.authorization, "Bearer ADMIN");
      const body = JSON.parse(req.body) as { service_code: string };
      json(res, 201, { ...body, active: true, attributes: [] });
    });
    const client = signedInClient(server.url);
    const s = await client.admin.services.create({
      service_code: "bench",
      names: { de: "Bank", en: "Bench" },
      department: "parks",
      sla_hours: 48,
    });
    assert.equal(s.service_code, "bench");
    assert.deepEqual(JSON.parse(server.seen[0]!.body), {
      service_code: "bench",
      names: { de: "Bank", en: "Bench" },
      department: "parks",
      sla_hours: 48,
    });
  });

  it("names every editable field in the update mask so false and [] are applied", async () => {
    server = await startServer((req, res) => {
      json(res, 200, {
        service_code: "bench",
        ...(JSON.parse(req.body) as object),
      });
    });
    const client = signedInClient(server.url);
    await client.admin.services.update(
      "a b",
      { active: false, keywords: [] },
      SERVICE_EDITABLE_FIELDS,
    );
    const seen = server.seen[0]!;
    assert.equal(seen.method, "PATCH");
    const u = new URL(seen.path, "http://x");
    assert.equal(u.pathname, "/v1/services/a%20b");
    assert.deepEqual(u.searchParams.getAll("update_mask.paths"), [
      ...SERVICE_EDITABLE_FIELDS,
    ]);
    assert.deepEqual(JSON.parse(seen.body), { active: false, keywords: [] });

    await client.admin.services.update("bench", { group: "Parks" });
    assert.equal(server.seen[1]!.path, "/v1/services/bench");
  });

  it("lists every category, an empty answer as no categories", async () => {
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/services?language=en");
      json(res, 200, {});
    });
    const client = signedInClient(server.url);
    assert.deepEqual(await client.admin.services.list("en"), []);
  });
});

describe("admin: accounts and roles", { timeout: 10_000 }, () => {
  it("finds an account by e-mail, or null when there is none", async () => {
    server = await startServer((req, res) => {
      const u = new URL(req.path, "http://x");
      assert.equal(u.pathname, "/v1/accounts");
      const email = u.searchParams.get("email");
      json(res, 200, {
        accounts:
          email === "ada+1@example.org"
            ? [{ account_id: "a1", email, roles: ["citizen"] }]
            : [],
      });
    });
    const client = signedInClient(server.url);
    const found = await client.admin.accounts.findByEmail("ada+1@example.org");
    assert.equal(found?.account_id, "a1");
    assert.equal(
      new URL(server.seen[0]!.path, "http://x").search,
      "?email=ada%2B1%40example.org",
    );
    assert.equal(
      await client.admin.accounts.findByEmail("nobody@example.org"),
      null,
    );
  });

  it("sets roles and departments and retries the replace after a 503", async () => {
    let calls = 0;
    server = await startServer((req, res) => {
      calls++;
      if (calls === 1) {
        grpcError(res, 503, 14, "backend unavailable");
        return;
      }
      assert.equal(req.path, "/v1/accounts/a1:setRoles");
      json(res, 200, {
        account_id: "a1",
        ...(JSON.parse(req.body) as object),
      });
    });
    const client = new CityhubClient({
      baseUrl: server.url,
      tokenStore: signedInStore(),
      sleep: () => Promise.resolve(),
    });
    const a = await client.admin.accounts.setRoles("a1", {
      roles: ["citizen", "operator"],
      departments: ["roads"],
    });
    assert.deepEqual(a.roles, ["citizen", "operator"]);
    assert.deepEqual(a.departments, ["roads"]);
    assert.equal(calls, 2);
  });

  it("reports the server's message naming the field", async () => {
    server = await startServer((_req, res) =>
      grpcError(res, 400, 3, "departments: an operator needs a department"),
    );
    const client = signedInClient(server.url);
    await assert.rejects(
      client.admin.accounts.setRoles("a1", { roles: ["operator"] }),
      (e: CityhubError) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /^departments: /);
        return true;
      },
    );
  });
});

describe("admin: API keys and webhooks", { timeout: 10_000 }, () => {
  it("creates, lists and deletes API keys", async () => {
    server = await startServer((req, res) => {
      if (req.method === "POST") {
        assert.deepEqual(JSON.parse(req.body), { name: "Partner" });
        json(res, 201, {
          api_key_id: "k1",
          name: "Partner",
          api_key: "ck_secret",
        });
      } else if (req.method === "GET") {
        json(res, 200, { api_keys: [{ api_key_id: "k1", name: "Partner" }] });
      } else {
        assert.equal(req.path, "/v1/apiKeys/k1");
        json(res, 200, {});
      }
    });
    const client = signedInClient(server.url);
    const created = await client.admin.apiKeys.create("Partner");
    assert.equal(created.api_key, "ck_secret");
    const keys = await client.admin.apiKeys.list();
    assert.deepEqual(
      keys.map((k) => k.api_key_id),
      ["k1"],
    );
    await client.admin.apiKeys.delete("k1");
    assert.deepEqual(
      server.seen.map((s) => s.method),
      ["POST", "GET", "DELETE"],
    );
  });

  it("creates a webhook with its secret, lists and deletes it", async () => {
    server = await startServer((req, res) => {
      if (req.method === "POST") {
        json(res, 201, {
          webhook_id: "w1",
          secret: "s3cret",
          ...(JSON.parse(req.body) as object),
        });
      } else if (req.method === "GET") {
        json(res, 200, {});
      } else {
        assert.equal(req.path, "/v1/webhooks/w1");
        json(res, 200, {});
      }
    });
    const client = signedInClient(server.url);
    const w = await client.admin.webhooks.create({
      url: "https://partner.example.org/hook",
      event_types: ["RequestCreated"],
    });
    assert.equal(w.secret, "s3cret");
    assert.equal(w.url, "https://partner.example.org/hook");
    assert.deepEqual(await client.admin.webhooks.list(), []);
    await client.admin.webhooks.delete("w1");
    assert.equal(server.seen.length, 3);
  });
});

describe("admin: geography", { timeout: 10_000 }, () => {
  it("reads and replaces the routing rules as a bare array", async () => {
    const rules = [
      { service_code: "pothole", district: "mitte", department: "roads-mitte" },
      { service_code: "", district: "senne", department: "roads-senne" },
    ];
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/routingRules");
      assert.equal(req.headers.authorization, "Bearer ADMIN");
      if (req.method === "GET") json(res, 200, []);
      else {
        assert.equal(req.method, "PUT");
        json(res, 200, JSON.parse(req.body));
      }
    });
    const client = signedInClient(server.url);
    assert.deepEqual(await client.admin.geography.routingRules(), []);
    assert.deepEqual(
      await client.admin.geography.setRoutingRules(rules),
      rules,
    );
    assert.deepEqual(JSON.parse(server.seen[1]!.body), rules);
  });

  it("answers null for a boundary not set, and the API's error for a refused one", async () => {
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/jurisdiction/boundary");
      if (req.method === "GET") grpcError(res, 404, 5, "no boundary is set");
      else
        grpcError(
          res,
          400,
          3,
          "boundary.coordinates[0]: the ring is not closed (its last position must equal its first)",
        );
    });
    const client = signedInClient(server.url);
    assert.equal(await client.admin.geography.boundary(), null);
    await assert.rejects(
      client.admin.geography.setBoundary({
        type: "Polygon",
        coordinates: [
          [
            [8.5, 52],
            [8.6, 52],
            [8.6, 52.1],
          ],
        ],
      }),
      (e: unknown) =>
        e instanceof CityhubError &&
        e.status === 400 &&
        e.message.startsWith("boundary.coordinates[0]"),
    );
  });

  it("replaces the districts with the FeatureCollection itself", async () => {
    const districts = {
      type: "FeatureCollection" as const,
      features: [
        {
          type: "Feature" as const,
          properties: {
            district_id: "mitte",
            name_de: "Mitte",
            name_en: "Centre",
          },
          geometry: {
            type: "Polygon" as const,
            coordinates: [
              [
                [8.5, 52],
                [8.6, 52],
                [8.6, 52.1],
                [8.5, 52],
              ],
            ],
          },
        },
      ],
    };
    server = await startServer((req, res) => {
      assert.equal(req.path, "/v1/districts");
      json(res, 200, req.method === "PUT" ? JSON.parse(req.body) : districts);
    });
    const client = signedInClient(server.url);
    assert.deepEqual(await client.admin.geography.districts(), districts);
    await client.admin.geography.setDistricts(districts);
    assert.equal(server.seen[1]!.method, "PUT");
    assert.deepEqual(JSON.parse(server.seen[1]!.body), districts);
  });
});

function signedInStore(): MemoryTokenStore {
  const store = new MemoryTokenStore();
  store.set({
    access_token: "ADMIN",
    refresh_token: "R1",
    expires_at: Date.now() + 600_000,
  });
  return store;
}
