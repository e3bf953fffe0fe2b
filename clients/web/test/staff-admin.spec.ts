import { expect, test } from "./fixtures";
import { adminToken, api, screenshot, verifiedResident } from "./helpers";
import { docsShot, noA11yViolations, signInAdmin } from "./staff-helpers";

// The staff console's admin side against the real stack, at the desktop viewport: the catalogue
// editor with its live preview (and the resident app showing the new form), roles of a found
// account, an API key shown once, a webhook created and deleted.

test("an admin creates a category with two questions; the resident's form shows them", async ({
  page,
  browser,
}) => {
  const code = `staff_admin_${Date.now().toString(36)}`;
  const name = `Broken bench ${code}`;
  await signInAdmin(page);
  await page.goto("/staff/admin/catalogue");
  await expect(
    page.getByRole("heading", { level: 1, name: "Categories" }),
  ).toBeVisible();
  await page.getByRole("link", { name: "New category" }).click();
  await expect(
    page.getByRole("heading", { level: 2, name: "New category" }),
  ).toBeVisible();

  await page.getByLabel("Code (required)").first().fill(code);
  await page
    .getByLabel("Name (German) (required)")
    .fill(`Kaputte Bank ${code}`);
  await page.getByLabel("Name (English)").fill(name);
  await page.getByLabel("Department (required)").fill("parks");
  await page.getByLabel("SLA in hours (required)").fill("48");

  const preview = page.getByTestId("preview");
  await page.getByRole("button", { name: "Add a question" }).click();
  const q1 = page.getByTestId("attribute-1");
  await q1.getByLabel("Code (required)").fill("slats");
  await q1.getByLabel("Answer type").selectOption("number");
  await q1.getByLabel("Question (German)").fill("Kaputte Latten");
  await q1.getByLabel("Question (English)").fill("Broken slats");
  await q1.getByLabel("Answer required").check();
  // the live preview follows every keystroke, in the resident app's own field
  await preview.getByLabel("English").check();
  await expect(preview.getByLabel("Broken slats (required)")).toBeVisible();

  await page.getByRole("button", { name: "Add a question" }).click();
  const q2 = page.getByTestId("attribute-2");
  await q2.getByLabel("Code (required)").fill("material");
  await q2.getByLabel("Answer type").selectOption("singlevaluelist");
  await q2.getByLabel("Question (German)").fill("Material");
  await q2.getByLabel("Question (English)").fill("Bench material");
  await q2.getByLabel("Key of choice 1 (required)").fill("wood");
  await q2.getByLabel("Choice 1 (German) (required)").fill("Holz");
  await q2.getByLabel("Choice 1 (English)").fill("Wood");
  await q2.getByRole("button", { name: "Add a choice" }).click();
  await q2.getByLabel("Key of choice 2 (required)").fill("metal");
  await q2.getByLabel("Choice 2 (German) (required)").fill("Metall");
  await q2.getByLabel("Choice 2 (English)").fill("Metal");
  const material = preview.getByRole("group", { name: "Bench material" });
  await expect(material.getByRole("radio", { name: "Wood" })).toBeVisible();
  await expect(material.getByRole("radio", { name: "Metal" })).toBeVisible();
  await docsShot(page, "staff-admin-catalogue");

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText(`Category ${code} created.`)).toBeVisible();
  await expect(page).toHaveURL(
    new RegExp(`/staff/admin/catalogue/edit/${code}$`),
  );
  await expect(
    page.getByRole("link", { name: new RegExp(`${name} ${code}`) }),
  ).toHaveAttribute("aria-current", "page");

  // what the API now holds: both questions, in order, as the editor showed them
  const stored = await api<{
    attributes: { code: string; datatype: string; required: boolean }[];
  }>("GET", `/v1/services/${code}`);
  expect(stored.status).toBe(200);
  expect(
    stored.body.attributes.map((a) => [a.code, a.datatype, a.required]),
  ).toEqual([
    ["slats", "number", true],
    ["material", "singlevaluelist", false],
  ]);

  // an anonymous resident in another browser context sees the new form
  const resident = await browser.newContext({
    baseURL: process.env.CITYHUB_WEB_BASE_URL,
    viewport: { width: 390, height: 844 },
    locale: "en-GB",
  });
  try {
    const r = await resident.newPage();
    const category = r.getByRole("radio", { name: new RegExp(`^${name}`) });
    await expect
      .poll(
        async () => {
          await r.goto("/report");
          await expect(r.getByRole("radio").first()).toBeVisible();
          return category.count();
        },
        { timeout: 20_000 },
      )
      .toBe(1);
    await category.check();
    await expect(r.getByLabel("Broken slats (required)")).toBeVisible();
    const group = r.getByRole("group", { name: "Bench material" });
    await expect(group.getByRole("radio", { name: "Wood" })).toBeVisible();
    await expect(group.getByRole("radio", { name: "Metal" })).toBeVisible();
  } finally {
    await resident.close();
  }

  // an edit: the second question becomes required and the change is saved
  await q2.getByLabel("Answer required").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText(`Category ${code} saved.`)).toBeVisible();
  await expect
    .poll(async () => {
      const edited = await api<{ attributes: { required: boolean }[] }>(
        "GET",
        `/v1/services/${code}`,
      );
      return edited.body.attributes.map((a) => a.required);
    })
    .toEqual([true, true]);
});

test("an admin finds an account by e-mail and makes it an operator", async ({
  page,
}) => {
  const resident = await verifiedResident("staff-admin-roles");
  await signInAdmin(page);
  await page.goto("/staff/admin/accounts");
  await page.getByLabel("E-mail address").fill(resident.email.toUpperCase());
  await page.getByRole("button", { name: "Find" }).click();
  const card = page.getByTestId("account");
  await expect(card.getByText(resident.email)).toBeVisible();
  await expect(card.getByLabel(/^Operator/)).not.toBeChecked();

  await card.getByLabel(/^Operator/).check();
  await card.getByLabel("Departments", { exact: true }).fill("roads, parks");
  await card.getByRole("button", { name: "Save roles" }).click();
  await expect(card.getByText(/^Roles saved\./)).toBeVisible();

  const admin = await adminToken();
  const found = await api<{
    accounts: { roles: string[]; departments: string[] }[];
  }>("GET", `/v1/accounts?email=${encodeURIComponent(resident.email)}`, {
    token: admin,
  });
  expect(found.body.accounts[0].roles.sort()).toEqual(["citizen", "operator"]);
  expect(found.body.accounts[0].departments.sort()).toEqual(["parks", "roads"]);

  // a wrong entry gets the API's message naming the field
  await card.getByLabel("Departments", { exact: true }).fill("Not A Slug!");
  await card.getByRole("button", { name: "Save roles" }).click();
  await expect(card.getByRole("alert")).toContainText("departments");

  await page.getByLabel("E-mail address").fill("nobody-here@example.org");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(
    page.getByText("No account has the address nobody-here@example.org."),
  ).toBeVisible();
});

test("an API key is shown once; a webhook is created and deleted", async ({
  page,
}) => {
  const keyName = `Partner ${Date.now().toString(36)}`;
  await signInAdmin(page);
  await page.goto("/staff/admin/keys");
  await page.getByLabel("Name of the partner (required)").fill(keyName);
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByText(`API key ${keyName} created.`)).toBeVisible();
  const secret = page.getByLabel("The new API key");
  await expect(secret).toHaveValue(/^ck_/);
  const key = await secret.inputValue();
  await expect(page.getByRole("button", { name: "Copy" })).toBeVisible();
  const row = page.getByRole("row", { name: new RegExp(keyName) });
  await expect(row).toBeVisible();
  await expect(row).not.toContainText(key);

  // shown once: after a reload the key is listed by name only
  await page.reload();
  await expect(
    page.getByRole("row", { name: new RegExp(keyName) }),
  ).toBeVisible();
  await expect(page.getByTestId("shown-once")).toHaveCount(0);
  expect(await page.content()).not.toContain(key);

  // the key works for Open311 until it is deleted
  const form = (k: string) =>
    fetch(`${process.env.CITYHUB_WEB_BASE_URL}/open311/v2/requests.json`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ api_key: k }).toString(),
    }).then((r) => r.status);
  expect(await form(key)).toBe(400); // past the key check: the other fields are missing
  await page
    .getByRole("row", { name: new RegExp(keyName) })
    .getByRole("button", { name: `Delete: ${keyName}` })
    .click();
  await expect(
    page.getByText(`Delete ${keyName}? This cannot be undone.`),
  ).toBeVisible();
  await page
    .getByRole("group", { name: "Delete" })
    .getByRole("button", { name: "Delete" })
    .click();
  await expect(page.getByText(`${keyName} deleted.`)).toBeVisible();
  await expect(
    page.getByRole("row", { name: new RegExp(keyName) }),
  ).toHaveCount(0);
  expect(await form(key)).toBe(403);

  // webhooks
  const url = `https://partner.example.org/hooks/${Date.now().toString(36)}`;
  await page.goto("/staff/admin/webhooks");
  await page.getByLabel("Address (URL) (required)").fill(url);
  await page.getByLabel("CommentAdded").uncheck();
  await page.getByRole("button", { name: "Create webhook" }).click();
  await expect(page.getByText(`Webhook for ${url} created.`)).toBeVisible();
  await expect(page.getByLabel("Signing secret")).not.toHaveValue("");
  const hookRow = page.getByRole("row", { name: new RegExp(url) });
  await expect(hookRow).toContainText("RequestCreated, RequestStatusChanged");
  await screenshot(page, "staff-admin-webhooks");
  await hookRow.getByRole("button", { name: `Delete: ${url}` }).click();
  await page
    .getByRole("group", { name: "Delete" })
    .getByRole("button", { name: "Delete" })
    .click();
  await expect(page.getByText(`${url} deleted.`)).toBeVisible();
  await expect(page.getByRole("row", { name: new RegExp(url) })).toHaveCount(0);
  const admin = await adminToken();
  const hooks = await api<{ webhooks: { url: string }[] }>(
    "GET",
    "/v1/webhooks",
    { token: admin },
  );
  expect(hooks.body.webhooks.map((w) => w.url)).not.toContain(url);

  // a refused address gets the API's message naming the field
  await page
    .getByLabel("Address (URL) (required)")
    .fill("ftp://partner.example.org/hook");
  await page.getByRole("button", { name: "Create webhook" }).click();
  await expect(page.getByRole("alert")).toContainText("url");
});

test("the admin pages have no serious accessibility violation", async ({
  page,
}) => {
  async function check(name: string) {
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(
      page.getByRole("status").filter({ hasText: /^Loading/ }),
    ).toHaveCount(0);
    await noA11yViolations(page, name);
  }
  await signInAdmin(page);
  await page.goto("/staff/admin/catalogue/new");
  await page.getByRole("button", { name: "Add a question" }).click();
  await page
    .getByTestId("attribute-1")
    .getByLabel("Answer type")
    .selectOption("multivaluelist");
  await check("catalogue editor");
  await page.goto("/staff/admin/accounts");
  await page
    .getByLabel("E-mail address")
    .fill(process.env.CITYHUB_ADMIN_EMAIL || "admin@bielefeld.de");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.getByTestId("account")).toBeVisible();
  await check("accounts");
  for (const path of [
    "/staff/admin/keys",
    "/staff/admin/webhooks",
    "/staff/dashboard",
    "/staff/admin/routing",
    "/staff/admin/geography",
  ]) {
    await page.goto(path);
    await check(path);
  }
});
