import { expect, test } from "./fixtures";
import { adminToken, api, screenshot, uniqueSpot } from "./helpers";

const both = (text: string) => ({ de: text, en: text });

// The report form is generated from the category's definition for every Open311 datatype, with
// required marks and checks; an anonymous resident reports with optional contact details.
test("every attribute datatype is rendered, checked and sent; anonymous report with contact", async ({
  page,
}) => {
  const code = `all_types_${Date.now().toString(36)}`;
  const admin = await adminToken();
  const created = await api("POST", "/v1/services", {
    token: admin,
    body: {
      service_code: code,
      names: both(`Test category ${code}`),
      descriptions: both("Every datatype once"),
      group: "Test",
      department: "roads",
      sla_hours: 24,
      details_public: true,
      active: true,
      attributes: [
        {
          code: "info",
          datatype: "text",
          variable: false,
          order: 1,
          descriptions: both("Just so you know."),
        },
        {
          code: "label",
          datatype: "string",
          required: true,
          variable: true,
          order: 2,
          descriptions: both("Label"),
        },
        {
          code: "count",
          datatype: "number",
          required: true,
          variable: true,
          order: 3,
          descriptions: both("Count"),
        },
        {
          code: "seen",
          datatype: "datetime",
          variable: true,
          order: 4,
          descriptions: both("Seen at"),
        },
        {
          code: "story",
          datatype: "text",
          variable: true,
          order: 5,
          descriptions: both("Story"),
        },
        {
          code: "colour",
          datatype: "singlevaluelist",
          required: true,
          variable: true,
          order: 6,
          descriptions: both("Colour"),
          values: [
            { key: "red", names: both("Red") },
            { key: "blue", names: both("Blue") },
          ],
        },
        {
          code: "things",
          datatype: "multivaluelist",
          variable: true,
          order: 7,
          descriptions: both("Things"),
          values: [
            { key: "a", names: both("Thing A") },
            { key: "b", names: both("Thing B") },
            { key: "c", names: both("Thing C") },
          ],
        },
      ],
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);

  const category = page.getByRole("radio", {
    name: new RegExp(`^Test category ${code}`),
  });
  await expect
    .poll(
      async () => {
        await page.goto("/report");
        await expect(
          page.getByRole("heading", { level: 1, name: "Report a problem" }),
        ).toBeVisible();
        await expect(page.getByRole("radio").first()).toBeVisible();
        return category.count();
      },
      { timeout: 15_000 },
    )
    .toBe(1);
  await category.check();

  await expect(page.getByText("Just so you know.")).toBeVisible();
  await expect(page.getByLabel("Label (required)")).toBeVisible();
  await expect(page.getByLabel("Count (required)")).toBeVisible();
  await expect(page.getByLabel("Seen at")).toHaveAttribute(
    "type",
    "datetime-local",
  );
  await expect(page.getByRole("textbox", { name: "Story" })).toBeVisible();
  await expect(
    page.getByRole("group", { name: "Colour (required)" }),
  ).toBeVisible();
  await expect(
    page.getByRole("group", { name: "Things" }).getByRole("checkbox"),
  ).toHaveCount(3);

  // Sending without the required answers and without a location is refused in the form.
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(page.getByText("Please check the marked fields.")).toBeVisible();
  await expect(page.getByText("Please answer this.")).toHaveCount(3);
  await expect(page.getByText(/Please give a location/)).toBeVisible();

  const spot = uniqueSpot();
  await page.getByLabel("Label (required)").fill("Schild 12");
  await page.getByLabel("Count (required)").fill("3,5");
  await page.getByLabel("Seen at").fill("2026-11-30T08:15");
  await page.getByRole("textbox", { name: "Story" }).fill("Es war so.");
  await page
    .getByRole("group", { name: "Colour (required)" })
    .getByRole("radio", { name: "Blue" })
    .check();
  await page
    .getByRole("group", { name: "Things" })
    .getByRole("checkbox", { name: "Thing A" })
    .check();
  await page
    .getByRole("group", { name: "Things" })
    .getByRole("checkbox", { name: "Thing C" })
    .check();
  await page.getByLabel("Latitude").fill(String(spot.lat));
  await page.getByLabel("Longitude").fill(String(spot.long));
  await expect(
    page.getByText("You are not signed in: your report is anonymous.", {
      exact: false,
    }),
  ).toBeVisible();
  await page.getByLabel("First name").fill("Bea");
  await page.getByLabel("E-mail address").fill("bea@example.org");
  await screenshot(page, "14-report-all-datatypes");
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(
    page.getByText("Thank you! Your report has been sent."),
  ).toBeVisible();
  await page.getByRole("link", { name: "View report" }).click();
  await expect(page.getByText("Thing A, Thing C")).toBeVisible();
  const id = page.url().split("/requests/")[1];

  const seen = await api<{
    attributes?: Record<string, unknown>;
    contact?: { first_name?: string; email?: string };
  }>("GET", `/v1/requests/${id}`, { token: admin });
  expect(seen.body.attributes).toMatchObject({
    label: "Schild 12",
    count: 3.5,
    story: "Es war so.",
    colour: "blue",
    things: ["a", "c"],
  });
  expect(String(seen.body.attributes?.seen)).toMatch(
    /^2026-11-30T\d\d:15:00Z$/,
  );
  expect(seen.body.contact).toMatchObject({
    first_name: "Bea",
    email: "bea@example.org",
  });
});
