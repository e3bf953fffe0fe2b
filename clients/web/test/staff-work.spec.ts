import { expect, test } from "./fixtures";
import {
  adminToken,
  api,
  signInApi,
  signInUi,
  uniqueSpot,
  verifiedResident,
} from "./helpers";
import { docsShot, noA11yViolations, staffDepartment } from "./staff-helpers";

// The staff console's work side at 1440×900 against the real stack: an operator of a department
// of its own (so other tests' reports stay out of its queue) triages reports; the resident's
// inbox hears of each public change. CITYHUB_DOCS_SCREENSHOTS=1 also writes docs/img/staff-*.png.

interface Setup {
  dept: string;
  code: string;
  operator: { email: string; password: string };
  resident: { email: string; password: string; token: string };
  template: string;
}

/** A category in a new department, an operator of it, a response template and a resident. */
async function setUp(): Promise<Setup> {
  const { tag, dept, code, operator } = await staffDepartment(
    "staff",
    "Bench broken",
  );
  const opToken = await signInApi(operator.email, operator.password);
  const template = `Danke, wir reparieren die Bank (${tag}).`;
  const tpl = await api("POST", "/v1/responseTemplates", {
    token: opToken,
    body: {
      department: dept,
      title: "Bench: on it",
      text_de: template,
      text_en: template,
    },
  });
  expect(tpl.status).toBe(201);
  const resident = await verifiedResident("staffres");
  const token = await signInApi(resident.email, resident.password);
  return { dept, code, operator, resident: { ...resident, token }, template };
}

async function fileReport(s: Setup, description: string): Promise<string> {
  const r = await api<{ request_id: string }>("POST", "/v1/requests", {
    token: s.resident.token,
    body: { service_code: s.code, ...uniqueSpot(), description },
  });
  expect(r.status).toBe(201);
  return r.body.request_id;
}

/** The kinds of the resident's inbox entries about a request, oldest first. */
async function inboxKinds(s: Setup, id: string): Promise<string[]> {
  const r = await api<{
    notifications: { request_id: string; kind: string }[];
  }>("GET", "/v1/notifications?page_size=100", { token: s.resident.token });
  return r.body.notifications
    .filter((n) => n.request_id === id)
    .map((n) => n.kind)
    .reverse();
}

test("an operator triages a new report end to end; the resident hears of each public change", async ({
  page,
}) => {
  const s = await setUp();
  const description = `Die Bank am Teich ist zerbrochen ${Date.now()}.`;
  const id = await fileReport(s, description);

  await signInUi(page, s.operator.email, s.operator.password);
  await page.goto("/staff");
  await expect(
    page.getByRole("heading", { level: 1, name: "Queue" }),
  ).toBeVisible();
  const row = page.locator(`tr[data-request-id="${id}"]`);
  await expect(row).toContainText(description);
  await expect(page.getByTestId("count-SUBMITTED")).toContainText("1");
  await docsShot(page, "staff-queue");
  await noA11yViolations(page, "queue");

  // Open it; acknowledge with the template as the public note.
  await row.getByRole("link").click();
  const move = page.getByRole("region", { name: "Change the status" });
  await expect(page).toHaveURL(new RegExp(`/staff/requests/${id}$`));
  await expect(page.getByText(description)).toBeVisible();
  await move
    .getByLabel("Response template")
    .selectOption({ label: "Bench: on it" });
  await move.getByRole("button", { name: "Insert template" }).click();
  await expect(move.getByLabel("Public note (residents see it)")).toHaveValue(
    s.template,
  );
  await move
    .getByLabel("Internal note (staff only)")
    .fill("Bauhof informiert.");
  await page.getByRole("button", { name: "Set to “Acknowledged”" }).click();
  await expect(
    page.getByText("The status is now “Acknowledged”."),
  ).toBeVisible();
  await expect(page.getByText("Internal: Bauhof informiert.")).toBeVisible();
  await expect
    .poll(() => inboxKinds(s, id))
    .toEqual(["KIND_OWN_REQUEST_STATUS"]);
  const seen = await api<{ status_notes: string }>(
    "GET",
    `/v1/requests/${id}`,
    {
      token: s.resident.token,
    },
  );
  expect(seen.body.status_notes).toBe(s.template);

  // Assign to me (staff only: the resident is not told).
  await page.getByRole("button", { name: "Assign to me" }).click();
  await expect(
    page.getByText("Assigned to you.", { exact: true }),
  ).toBeVisible();

  // A public comment.
  const comment = `Material ist bestellt ${Date.now()}.`;
  await page.getByLabel("Comment (public)").fill(comment);
  await page.getByRole("button", { name: "Post comment" }).click();
  await expect(page.getByText(comment)).toBeVisible();
  await expect
    .poll(() => inboxKinds(s, id))
    .toEqual(["KIND_OWN_REQUEST_STATUS", "KIND_OWN_REQUEST_COMMENT"]);
  await docsShot(page, "staff-request");
  await noA11yViolations(page, "staff view");

  // Resolve.
  await move.getByLabel("New status").selectOption({ label: "Resolved" });
  await move
    .getByLabel("Public note (residents see it)")
    .fill("Die Bank ist repariert.");
  await page.getByRole("button", { name: "Set to “Resolved”" }).click();
  await expect(page.getByText("The status is now “Resolved”.")).toBeVisible();
  await expect
    .poll(() => inboxKinds(s, id))
    .toEqual([
      "KIND_OWN_REQUEST_STATUS",
      "KIND_OWN_REQUEST_COMMENT",
      "KIND_OWN_REQUEST_STATUS",
    ]);
  const done = await api<{ status: string; status_notes: string }>(
    "GET",
    `/v1/requests/${id}`,
    { token: s.resident.token },
  );
  expect(done.body).toMatchObject({
    status: "RESOLVED",
    status_notes: "Die Bank ist repariert.",
  });
});

test("a citizen opening /staff sees no staff data and loads no staff code", async ({
  page,
}) => {
  const resident = await verifiedResident("nostaff");
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await signInUi(page, resident.email, resident.password);
  await page.goto("/staff");
  await expect(page.getByTestId("staff-denied")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Queue" })).toHaveCount(0);
  expect(urls.filter((u) => /StaffApp/.test(u))).toEqual([]);
  expect(
    urls.filter((u) => /\/v1\/(requests|responseTemplates)/.test(u)),
  ).toEqual([]);
});

test("keyboard shortcuts, bulk acknowledge and live refresh in the queue", async ({
  page,
}) => {
  const s = await setUp();
  const a = await fileReport(s, `Erste Bank ${Date.now()}`);
  const b = await fileReport(s, `Zweite Bank ${Date.now()}`);
  const c = await fileReport(s, `Dritte Bank ${Date.now()}`);
  await signInUi(page, s.operator.email, s.operator.password);
  await page.goto(`/staff?dept=${s.dept}&status=SUBMITTED`);
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(3);

  // ? shows the shortcuts; Escape closes them.
  await page.keyboard.press("?");
  await expect(
    page.getByRole("dialog", { name: "Keyboard shortcuts" }),
  ).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog")).toHaveCount(0);

  // j moves down (newest first: c, b, a), a acknowledges the current row.
  await page.keyboard.press("j");
  await expect(page.locator(`tr[data-request-id="${c}"]`)).toBeFocused();
  await page.keyboard.press("j");
  await expect(page.locator(`tr[data-request-id="${b}"]`)).toBeFocused();
  await page.keyboard.press("k");
  await expect(page.locator(`tr[data-request-id="${c}"]`)).toBeFocused();
  await page.keyboard.press("a");
  await expect(page.getByText(/^Acknowledged: Bench broken/)).toBeVisible();
  await expect(page.locator(`tr[data-request-id="${c}"]`)).toHaveCount(0);

  // Select both remaining with x and acknowledge them together with a template.
  await page.locator(`tr[data-request-id="${b}"]`).focus();
  await page.keyboard.press("x");
  await page.keyboard.press("j");
  await expect(page.locator(`tr[data-request-id="${a}"]`)).toBeFocused();
  await page.keyboard.press("x");
  await expect(page.getByText("2 selected.")).toBeVisible();
  await page
    .getByLabel("Response template")
    .selectOption({ label: "Bench: on it" });
  await page.getByRole("button", { name: "Insert template" }).click();
  await page.getByRole("button", { name: "Acknowledge 2 reports" }).click();
  await expect(page.getByText("2 acknowledged, 0 failed.")).toBeVisible();
  await expect(rows).toHaveCount(0);
  for (const id of [a, b]) {
    const r = await api<{ status: string; status_notes: string }>(
      "GET",
      `/v1/requests/${id}`,
      { token: s.resident.token },
    );
    expect(r.body).toMatchObject({
      status: "ACKNOWLEDGED",
      status_notes: s.template,
    });
  }

  // Live refresh: a new report shows up without reloading, marked new.
  await page
    .getByRole("checkbox", { name: "Acknowledged", exact: true })
    .check();
  await expect(rows).toHaveCount(3);
  const d = await fileReport(s, `Vierte Bank ${Date.now()}`);
  const fresh = page.locator(`tr[data-request-id="${d}"]`);
  await expect(fresh).toBeVisible({ timeout: 10_000 });
  await expect(rows).toHaveCount(4);
  await expect(fresh).toContainText("new");
  await expect(
    page.getByText("New activity arrived; the queue is up to date."),
  ).toBeVisible();
  expect(page.url()).toContain("status=ACKNOWLEDGED");

  // Enter opens the current row.
  await fresh.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/staff/requests/${d}$`));
});

test("the map lists the department's open reports and opens one", async ({
  page,
}) => {
  const s = await setUp();
  const open = await fileReport(s, `Offene Bank ${Date.now()}`);
  const closed = await fileReport(s, `Erledigte Bank ${Date.now()}`);
  const admin = await adminToken();
  const moved = await api("POST", `/v1/requests/${closed}:transition`, {
    token: admin,
    body: { status: "REJECTED" },
  });
  expect(moved.status).toBe(200);
  await signInUi(page, s.operator.email, s.operator.password);
  await page.goto("/staff");
  await page
    .getByRole("navigation", { name: "Staff console" })
    .getByRole("link", { name: "Map" })
    .click();
  await expect(
    page.getByRole("region", { name: "Map of open reports" }),
  ).toBeVisible();
  const list = page.getByRole("list", { name: "Open reports" });
  await expect(list.getByRole("link")).toHaveCount(1);
  await expect(page.locator(".leaflet-marker-icon.map-dot")).toHaveCount(1);
  await list.getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/staff/requests/${open}$`));
});

test("an operator redacts a report's text; the public view keeps only the new text", async ({
  page,
}) => {
  const s = await setUp();
  const leaked = `Ruft mich an: 0521 ${Date.now()}`;
  const id = await fileReport(s, `Bank kaputt. ${leaked}`);

  await signInUi(page, s.operator.email, s.operator.password);
  await page.goto(`/staff/requests/${id}`);
  const panel = page.getByRole("region", { name: "Moderate" });
  await panel
    .getByLabel("Replace the description (the original is deleted)")
    .check();
  await panel.getByLabel("New description").fill("Bank kaputt.");
  // the reason is required: without it nothing is sent
  await panel.getByRole("button", { name: "Apply moderation" }).click();
  expect(
    await panel
      .getByLabel("Reason")
      .evaluate((el) => (el as HTMLInputElement).validity.valueMissing),
  ).toBe(true);
  await panel.getByLabel("Reason").fill("Telefonnummer entfernt");
  await panel.getByRole("button", { name: "Apply moderation" }).click();
  await expect(page.getByText("Moderation applied.")).toBeVisible();
  await expect(panel.getByText(/Telefonnummer entfernt/)).toBeVisible();

  // what anyone reads now: the new text, never the old
  const pub = await api<{ description: string }>("GET", `/v1/requests/${id}`);
  expect(pub.status).toBe(200);
  expect(pub.body.description).toBe("Bank kaputt.");
  expect(JSON.stringify(pub.body)).not.toContain(leaked);
});
