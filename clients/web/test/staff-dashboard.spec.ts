import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Locator } from "@playwright/test";
import { expect, test } from "./fixtures";
import {
  adminToken,
  api,
  screenshot,
  signInApi,
  signInUi,
  uniqueSpot,
  verifiedResident,
} from "./helpers";
import { docsShot, signInAdmin, staffDepartment } from "./staff-helpers";

// The staff console's figures and the city's geography against the real stack (#15), at the
// desktop viewport: the dashboard's tables show what GET /v1/stats counts for reports made here,
// routing rules saved on their page are what GET /v1/routingRules answers and route new
// reports, the geography page lists the districts the local stack seeds, and an operator gets
// the dashboard of their department but none of the admin pages.

const here = dirname(fileURLToPath(import.meta.url));
const seeds = join(here, "..", "..", "..", "services", "requests", "data");

/** Positions inside two of the seeded districts (bielefeld-districts.geojson). */
const MITTE = { lat: 52.0216, long: 8.5325 };
const HEEPEN = { lat: 52.03, long: 8.62 };

interface RoutingRule {
  service_code: string;
  district: string;
  department: string;
}

interface Setup {
  tag: string;
  dept: string;
  code: string;
  name: string;
  operator: { email: string; password: string };
  resident: { token: string };
}

/** A category (SLA 48 h) in a department of its own, an operator of it and a resident. */
async function setUp(): Promise<Setup> {
  const { tag, dept, code, name, operator } = await staffDepartment(
    "dash",
    "Dashboard bench",
  );
  const resident = await verifiedResident("dash-resident");
  const token = await signInApi(resident.email, resident.password);
  // the console lists a department once the public catalogue has its category
  await expect
    .poll(
      async () => {
        const list = await api<{ services: { service_code: string }[] }>(
          "GET",
          "/v1/services?language=en",
        );
        return list.body.services?.some((s) => s.service_code === code);
      },
      { timeout: 30_000, message: `GET /v1/services lists ${code}` },
    )
    .toBe(true);
  return { tag, dept, code, name, operator, resident: { token } };
}

async function fileReport(
  s: Setup,
  where: { lat: number; long: number },
): Promise<{ request_id: string; department: string; district: string }> {
  const r = await api<{
    request_id: string;
    department: string;
    district: string;
  }>("POST", "/v1/requests", {
    token: s.resident.token,
    body: { service_code: s.code, ...where, description: `Bench ${s.tag}` },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function move(id: string, status: string, token: string) {
  const r = await api("POST", `/v1/requests/${id}:transition`, {
    token,
    body: { status },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/** The texts of a table's body cells (td), row by row. */
async function cells(table: Locator): Promise<string[][]> {
  return table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((r) =>
        [...r.querySelectorAll("td")].map((c) => c.textContent ?? ""),
      ),
    );
}

/** Each body row as [its header cell, its data cells...]. */
async function headedRows(table: Locator): Promise<string[][]> {
  return table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((r) =>
        [...r.querySelectorAll("th, td")].map((c) => c.textContent ?? ""),
      ),
    );
}

/** Sums of the Received and Closed columns of the weekly table. */
async function weeklySums(table: Locator): Promise<[number, number]> {
  const rows = await cells(table);
  return rows.reduce<[number, number]>(
    (acc, [received, closed]) => [
      acc[0] + Number(received),
      acc[1] + Number(closed),
    ],
    [0, 0],
  );
}

test("the dashboard shows the figures of a department's reports", async ({
  page,
}) => {
  const s = await setUp();
  const admin = await adminToken();
  // three reports: one resolved (and rated 4 by its reporter), one acknowledged, one new
  const [a, b] = [
    await fileReport(s, uniqueSpot()),
    await fileReport(s, uniqueSpot()),
    await fileReport(s, uniqueSpot()),
  ];
  await move(a.request_id, "ACKNOWLEDGED", admin);
  await move(a.request_id, "RESOLVED", admin);
  await move(b.request_id, "ACKNOWLEDGED", admin);
  const rated = await api("POST", `/v1/requests/${a.request_id}:feedback`, {
    token: s.resident.token,
    body: { fixed: true, rating: 4 },
  });
  expect(rated.status, JSON.stringify(rated.body)).toBe(200);

  // what the API counts (kept up to date with every change), before the page reads it
  await expect
    .poll(
      async () => {
        const r = await api<{
          total: number;
          feedback: { count: number };
          time_to_resolve: { count: number };
        }>(
          "GET",
          `/v1/stats?service_code=${s.code}&group_by=week&since=${encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString())}`,
        );
        return [
          r.status,
          r.body.total,
          r.body.time_to_resolve?.count,
          r.body.feedback?.count,
        ];
      },
      { timeout: 30_000, message: "GET /v1/stats counts the reports" },
    )
    .toEqual([200, 3, 1, 1]);

  await signInAdmin(page);
  await page.goto("/staff/dashboard");
  await expect(
    page.getByRole("heading", { level: 1, name: "Dashboard" }),
  ).toBeVisible();
  await expect(
    page.getByRole("table", { name: "Summary" }).getByRole("columnheader"),
  ).toHaveText(["the whole city"]);
  // the city's figures include these reports and everyone else's
  const cityReports = page
    .getByRole("table", { name: "Summary" })
    .getByRole("row", { name: /^Reports/ })
    .getByRole("cell");
  await expect
    .poll(async () => Number(await cityReports.first().textContent()), {
      timeout: 20_000,
    })
    .toBeGreaterThanOrEqual(3);

  await page.getByLabel("Figures of").selectOption(s.dept);
  const summary = page.getByRole("table", { name: "Summary" });
  await expect(summary.getByRole("columnheader")).toHaveText([
    "the whole city",
    s.dept,
  ]);
  const dept = (row: RegExp) =>
    summary.getByRole("row", { name: row }).getByRole("cell").nth(1);
  await expect(dept(/^Reports/)).toHaveText("3", { timeout: 20_000 });
  await expect(dept(/^Time to acknowledge/)).toContainText("(n = 2)");
  await expect(dept(/^Time to resolve/)).toContainText("(n = 1)");
  await expect(dept(/^Resolved within the SLA/)).toHaveText("100 % of 1");
  await expect(dept(/^Feedback rating/)).toHaveText("4.0 of 5 (ratings: 1)");

  // the weekly figures: a chart for the eye, a table for screen readers and exact numbers
  const weekly = page.getByRole("table", {
    name: `Received and closed per week: ${s.dept}`,
  });
  await expect(weekly.getByRole("columnheader")).toHaveText([
    "Week from",
    "Received",
    "Closed",
  ]);
  await expect.poll(() => weeklySums(weekly)).toEqual([3, 1]);
  // 12 weeks back by default: the week holding `since` up to this week
  expect((await cells(weekly)).length).toBeGreaterThanOrEqual(12);
  expect((await cells(weekly)).at(-1)).toEqual(["3", "1"]);
  await expect(page.locator(".admin-chart canvas").first()).toBeVisible();
  await expect(page.locator(".admin-chart")).toHaveAttribute(
    "aria-hidden",
    "true",
  );
  await expect(page.locator(".admin-chart .u-legend")).toContainText(
    "Received",
  );

  const byCategory = page.getByRole("table", {
    name: `By category: ${s.dept}`,
  });
  const row = byCategory.getByRole("row", { name: new RegExp(s.name) });
  await expect(row.getByRole("cell")).toHaveText([
    "3",
    /\(n = 2\)$/,
    /\(n = 1\)$/,
    "100 % of 1",
  ]);
  await expect(byCategory.getByRole("row")).toHaveCount(2); // header + the one category

  // counts by the status each report has now, and by the district it lies in
  const byStatus = page.getByRole("table", {
    name: `By status now: ${s.dept}`,
  });
  await expect
    .poll(async () => (await headedRows(byStatus)).sort())
    .toEqual([
      ["Acknowledged", "1"],
      ["Received", "1"],
      ["Resolved", "1"],
    ]);
  const byDistrict = page.getByRole("table", {
    name: `By district: ${s.dept}`,
  });
  const seeded = JSON.parse(
    readFileSync(join(seeds, "bielefeld-districts.geojson"), "utf8"),
  ) as { features: { properties: { name_en: string } }[] };
  const known = new Set([
    ...seeded.features.map((f) => f.properties.name_en),
    "in no district",
  ]);
  const districtRows = await headedRows(byDistrict);
  expect(districtRows.reduce((n, [, c]) => n + Number(c), 0)).toBe(3);
  for (const [name] of districtRows) expect(known.has(name), name).toBe(true);
  await docsShot(page, "staff-dashboard");

  // a longer period asks again and still holds the same reports
  await page.getByLabel("Period").selectOption({ label: "Last 26 weeks" });
  await expect
    .poll(async () => (await cells(weekly)).length, { timeout: 20_000 })
    .toBeGreaterThanOrEqual(26);
  await expect.poll(() => weeklySums(weekly)).toEqual([3, 1]);
});

test("an admin edits the routing rules; new reports follow them", async ({
  page,
}) => {
  const s = await setUp();
  const admin = await adminToken();
  const before = await api<RoutingRule[]>("GET", "/v1/routingRules", {
    token: admin,
  });
  expect(before.status).toBe(200);
  expect(Array.isArray(before.body)).toBe(true);
  const n = before.body.length;
  const mitteDept = `mitte-${s.tag}`;
  const elsewhereDept = `else-${s.tag}`;
  try {
    await signInAdmin(page);
    await page.goto("/staff/admin/routing");
    await expect(
      page.getByRole("heading", { level: 1, name: "Routing" }),
    ).toBeVisible();
    await expect(
      page.getByRole("status").filter({ hasText: /^Loading/ }),
    ).toHaveCount(0, { timeout: 20_000 });
    // the stored rules, one row each
    await expect(page.getByLabel(/^Department \d+$/)).toHaveCount(n);
    // the seeded districts are offered as district ids
    await expect(
      page.locator("#admin-routing-districts option[value=mitte]"),
    ).toHaveCount(1);

    // the category in Mitte goes to one department, elsewhere to another
    await page.getByRole("button", { name: "Add a rule" }).click();
    await page.getByLabel(`Category code ${n + 1}`).fill(s.code);
    await page.getByLabel(`District ${n + 1}`).fill("mitte");
    await page.getByLabel(`Department ${n + 1}`).fill(mitteDept);
    await page.getByRole("button", { name: "Add a rule" }).click();
    await page.getByLabel(`Category code ${n + 2}`).fill(s.code);
    await page.getByLabel(`Department ${n + 2}`).fill(elsewhereDept);
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("Saved.")).toBeVisible({ timeout: 20_000 });

    const mine: RoutingRule[] = [
      { service_code: s.code, district: "mitte", department: mitteDept },
      { service_code: s.code, district: "", department: elsewhereDept },
    ];
    const after = await api<RoutingRule[]>("GET", "/v1/routingRules", {
      token: admin,
    });
    expect(after.status).toBe(200);
    expect(after.body).toEqual([...before.body, ...mine]);

    // what a reload shows is what is stored
    await page.reload();
    await expect(page.getByLabel(/^Department \d+$/)).toHaveCount(n + 2, {
      timeout: 20_000,
    });
    await expect(page.getByLabel(`District ${n + 1}`)).toHaveValue("mitte");
    await expect(page.getByLabel(`Department ${n + 2}`)).toHaveValue(
      elsewhereDept,
    );

    // new reports of the category: the most specific rule decides (within a second on
    // every replica)
    await expect
      .poll(async () => {
        const r = await fileReport(s, MITTE);
        return [r.district, r.department];
      })
      .toEqual(["mitte", mitteDept]);
    const heepen = await fileReport(s, HEEPEN);
    expect([heepen.district, heepen.department]).toEqual([
      "heepen",
      elsewhereDept,
    ]);

    // a rule without a department: the API's message names the rule and the field, and
    // nothing is stored
    await page.getByRole("button", { name: "Add a rule" }).click();
    await page.getByLabel(`Category code ${n + 3}`).fill(s.code);
    await page.getByLabel(`District ${n + 3}`).fill("heepen");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert")).toContainText(
      `rules[${n + 2}].department`,
      { timeout: 20_000 },
    );
    // so does a malformed one
    await page.getByLabel(`Department ${n + 3}`).fill("Not A Slug!");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert")).toContainText(
      `rules[${n + 2}].department: 1-64 characters`,
      { timeout: 20_000 },
    );
    const unchanged = await api<RoutingRule[]>("GET", "/v1/routingRules", {
      token: admin,
    });
    expect(unchanged.body).toEqual([...before.body, ...mine]);

    // removing both rules of the category and saving stores the rules as they were
    await page.getByRole("button", { name: `Remove rule ${n + 3}` }).click();
    await page.getByRole("button", { name: `Remove rule ${n + 2}` }).click();
    await page.getByRole("button", { name: `Remove rule ${n + 1}` }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByText("Saved.")).toBeVisible({ timeout: 20_000 });
    const restored = await api<RoutingRule[]>("GET", "/v1/routingRules", {
      token: admin,
    });
    expect(restored.body).toEqual(before.body);
  } finally {
    await api("PUT", "/v1/routingRules", { token: admin, body: before.body });
  }
});

test("the geography page shows the seeded boundary and districts", async ({
  page,
}) => {
  const seeded = JSON.parse(
    readFileSync(join(seeds, "bielefeld-districts.geojson"), "utf8"),
  ) as {
    features: {
      properties: { district_id: string; name_de: string; name_en: string };
      geometry: { type: string };
    }[];
  };
  const stored = await api<{ features: unknown[] }>("GET", "/v1/districts");
  expect(stored.body.features).toHaveLength(seeded.features.length);

  await signInAdmin(page);
  await page.goto("/staff/admin/geography");
  await expect(
    page.getByRole("heading", { level: 1, name: "Geography" }),
  ).toBeVisible();
  await expect(page.getByText("A boundary is set (Polygon).")).toBeVisible({
    timeout: 20_000,
  });
  const table = page.getByRole("table", {
    name: `Districts (${seeded.features.length})`,
  });
  await expect(table).toBeVisible({ timeout: 20_000 });
  await expect(table.getByRole("rowheader")).toHaveText(
    seeded.features.map((f) => f.properties.district_id),
  );
  expect(await cells(table)).toEqual(
    seeded.features.map((f) => [
      f.properties.name_de,
      f.properties.name_en,
      f.geometry.type,
    ]),
  );
  // the map draws the boundary and every district
  await expect(
    page.getByRole("region", { name: "Map of the boundary and the districts" }),
  ).toBeVisible();
  await expect(
    page.locator(".admin-geo-map path.leaflet-interactive"),
  ).toHaveCount(seeded.features.length + 1);
  await screenshot(page, "staff-geography");

  // a file that is no district collection is refused before it is sent
  const districtsFile = page.getByLabel("Upload the districts (GeoJSON)");
  await districtsFile.setInputFiles({
    name: "boundary.geojson",
    mimeType: "application/geo+json",
    buffer: readFileSync(join(seeds, "bielefeld-boundary.geojson")),
  });
  await expect(page.getByRole("alert")).toHaveText(
    "The districts file must be a FeatureCollection.",
  );
  // one the API refuses: its message names the feature and the field
  const bad = structuredClone(seeded);
  bad.features[1].properties.district_id = "Not valid!";
  await districtsFile.setInputFiles({
    name: "bad.geojson",
    mimeType: "application/geo+json",
    buffer: Buffer.from(JSON.stringify(bad)),
  });
  await expect(page.getByRole("alert")).toContainText(
    "features[1].properties.district_id",
    { timeout: 20_000 },
  );
  // the seed itself again: stored as it was
  await districtsFile.setInputFiles({
    name: "bielefeld-districts.geojson",
    mimeType: "application/geo+json",
    buffer: readFileSync(join(seeds, "bielefeld-districts.geojson")),
  });
  await expect(page.getByText("Saved.")).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole("alert")).toHaveCount(0);
  await expect(table.getByRole("rowheader")).toHaveText(
    seeded.features.map((f) => f.properties.district_id),
  );
  const again = await api<{
    features: { properties: { district_id: string } }[];
  }>("GET", "/v1/districts");
  expect(again.body.features.map((f) => f.properties.district_id)).toEqual(
    seeded.features.map((f) => f.properties.district_id),
  );
});

test("an operator sees their department's dashboard and no admin page", async ({
  page,
}) => {
  const s = await setUp();
  await fileReport(s, uniqueSpot());
  await fileReport(s, uniqueSpot());
  await expect
    .poll(
      async () =>
        (
          await api<{ total: number }>(
            "GET",
            `/v1/stats?service_code=${s.code}`,
          )
        ).body.total,
      { timeout: 30_000 },
    )
    .toBe(2);

  await signInUi(page, s.operator.email, s.operator.password);
  await page.goto("/staff/dashboard");
  const nav = page.getByRole("navigation", { name: "Staff console" });
  await expect(nav.getByRole("link", { name: "Dashboard" })).toHaveAttribute(
    "aria-current",
    "page",
  );
  for (const name of ["Routing", "Geography", "Categories", "Accounts"])
    await expect(nav.getByRole("link", { name })).toHaveCount(0);
  // their own department is the one shown beside the city
  await expect(page.getByLabel("Figures of")).toHaveValue(s.dept);
  const summary = page.getByRole("table", { name: "Summary" });
  await expect(summary.getByRole("columnheader")).toHaveText([
    "the whole city",
    s.dept,
  ]);
  await expect(
    summary
      .getByRole("row", { name: /^Reports/ })
      .getByRole("cell")
      .nth(1),
  ).toHaveText("2", { timeout: 20_000 });
  await expect
    .poll(() =>
      weeklySums(
        page.getByRole("table", {
          name: `Received and closed per week: ${s.dept}`,
        }),
      ),
    )
    .toEqual([2, 0]);

  for (const path of ["/staff/admin/routing", "/staff/admin/geography"]) {
    await page.goto(path);
    await expect(page.getByRole("alert")).toHaveText(
      "There is no such page in the staff console.",
    );
    await expect(page.getByRole("heading", { level: 1 })).toHaveCount(0);
  }
  // and the API refuses them the rules
  const token = await signInApi(s.operator.email, s.operator.password);
  const rules = await api("GET", "/v1/routingRules", { token });
  expect(rules.status).toBe(403);
  const put = await api("PUT", "/v1/routingRules", { token, body: [] });
  expect(put.status).toBe(403);
  const districts = await api("PUT", "/v1/districts", {
    token,
    body: { type: "FeatureCollection", features: [] },
  });
  expect(districts.status).toBe(403);
});
