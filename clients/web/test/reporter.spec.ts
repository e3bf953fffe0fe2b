import { expect, test } from "./fixtures";
import {
  adminToken,
  api,
  linkFromMail,
  screenshot,
  uniqueEmail,
  uniqueSpot,
} from "./helpers";

// An anonymous reporter (#14): the mailed links land on the app's pages: the double opt-in, the
// feedback after the resolution ("not fixed" reopens the report) and the unsubscribe page, which
// asks for a click; a spent link is explained.
test("an anonymous reporter's mailed links: confirm, feedback, unsubscribe", async ({
  page,
}) => {
  const email = uniqueEmail("anonymous");
  const created = await api<{ request_id: string }>("POST", "/v1/requests", {
    body: {
      service_code: "pothole",
      ...uniqueSpot(),
      attributes: { surface: "road" },
      description: "Loch vor der Bäckerei",
      language: "en",
      contact: { email },
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.request_id;

  await page.goto(await linkFromMail(email, "/confirm-contact"));
  await expect(
    page.getByText("We will write to you whenever your report changes."),
  ).toBeVisible();
  await screenshot(page, "30-confirm-contact");

  const admin = await adminToken();
  for (const status of ["ACKNOWLEDGED", "RESOLVED"]) {
    const moved = await api("POST", `/v1/requests/${id}:transition`, {
      token: admin,
      body: { status, public_note: `now ${status}` },
    });
    expect(moved.status).toBe(200);
  }
  await page.goto(await linkFromMail(email, "/feedback"));
  await expect(
    page.getByRole("heading", { level: 1, name: "Is it fixed?" }),
  ).toBeVisible();
  await page.getByLabel("No", { exact: true }).check();
  await page.getByLabel(/^How satisfied are you/).selectOption("2");
  await page.getByLabel(/^Anything else/).fill("Still there.");
  await screenshot(page, "31-feedback");
  await page.getByRole("button", { name: "Send feedback" }).click();
  await expect(page.getByText(/The report has been reopened/)).toBeVisible();
  const view = await api<{ status: string }>("GET", `/v1/requests/${id}`);
  expect(view.body.status).toBe("IN_PROGRESS");

  const unsubscribe = await linkFromMail(email, "/unsubscribe");
  await page.goto(unsubscribe);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await expect(page.getByText(/you get no more mails/)).toBeVisible();
  await page.goto(unsubscribe);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await expect(page.getByText(/This link is not valid/)).toBeVisible();
});
