import { expect, test } from "./fixtures";
import { readFileSync } from "node:fs";
import {
  adminToken,
  api,
  linkFromMail,
  PASSWORD,
  PHOTO,
  screenshot,
  signInApi,
  uniqueEmail,
  uniqueSpot,
} from "./helpers";

// (1) The whole resident journey, as a resident does it on a phone: register, confirm the address
// from the mail, sign in, report with a photo and an answer, follow a report someone else made,
// see an operator's change arrive live in the inbox, set preferences, export, delete the account.
test("resident journey: register → report → follow → live inbox → preferences → export → delete", async ({
  page,
}) => {
  const email = uniqueEmail("journey");
  const description = `Tiefes Loch ${Date.now()}`;
  const spot = uniqueSpot();

  await page.goto("/");
  await expect(
    page.getByRole("heading", {
      level: 1,
      name: "Report a problem in your city",
    }),
  ).toBeVisible();
  await screenshot(page, "01-home");

  // Register.
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(
    page.getByRole("heading", { level: 1, name: "Create an account" }),
  ).toBeFocused();
  await page.getByLabel(/^Your name/).fill("Ada Resident");
  await page.getByLabel(/^E-mail address/).fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await screenshot(page, "02-register");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText(`We sent a link to ${email}`)).toBeVisible();

  // The verification link from the mail opens the app's landing page.
  const link = await linkFromMail(email, "/verify-email");
  await page.goto(link);
  await expect(
    page.getByText("Your e-mail address is confirmed."),
  ).toBeVisible();

  // Sign in.
  await page.getByRole("link", { name: "Sign in" }).first().click();
  await page.getByLabel(/^E-mail address/).fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("link", { name: "Inbox" })).toBeVisible();

  // Report a pothole: category, its required attribute, a description, a photo, the position.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Report/ })
    .click();
  await page.getByRole("radio", { name: /^Pothole/ }).check();
  await page
    .getByRole("group", { name: /Where is the damage\?/ })
    .getByRole("radio", { name: "Road" })
    .check();
  await page
    .getByRole("group", { name: /Rough size/ })
    .getByRole("radio", { name: "Up to a car tyre" })
    .check();
  await page.getByLabel(/^Description/).fill(description);
  await page.getByLabel("Take or choose photos").setInputFiles(PHOTO);
  await expect(page.getByRole("img", { name: "Photo 1" })).toBeVisible();
  await page.getByLabel("Latitude").fill(String(spot.lat));
  await page.getByLabel("Longitude").fill(String(spot.long));
  await page.getByLabel(/^Address/).fill("Niederwall 25");
  await screenshot(page, "03-report-form");
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(
    page.getByText("Thank you! Your report has been sent."),
  ).toBeVisible();
  await page.getByRole("link", { name: "View report" }).click();
  await expect(
    page.getByRole("heading", { level: 1, name: "Pothole" }),
  ).toBeVisible();
  await expect(page.getByText(description)).toBeVisible();
  await expect(page.getByRole("img", { name: "Photo 1" })).toBeVisible();
  const ownId = page.url().split("/requests/")[1];
  expect(ownId).toBeTruthy();
  await page.getByLabel("Your comment").fill("Es ist gleich neben dem Gully.");
  await page.getByRole("button", { name: "Send comment" }).click();
  await expect(
    page
      .getByRole("region", { name: "Comments" })
      .getByText("Es ist gleich neben dem Gully."),
  ).toBeVisible();

  // Someone else already reported a dark streetlight around the corner: the app suggests it and
  // the resident follows it instead of reporting it twice.
  const other = await api<{ request_id: string }>("POST", "/v1/requests", {
    body: {
      service_code: "streetlight",
      lat: spot.lat + 0.0001,
      long: spot.long,
      description: "Laterne dunkel",
      attributes: { problem: "dark" },
    },
  });
  expect(other.status).toBe(201);
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Report/ })
    .click();
  await page.getByRole("radio", { name: /^Streetlight out/ }).check();
  await page
    .getByRole("group", { name: /What is wrong\?/ })
    .getByRole("radio", { name: "Not lit" })
    .check();
  await page.getByLabel("Latitude").fill(String(spot.lat));
  await page.getByLabel("Longitude").fill(String(spot.long));
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(
    page.getByRole("heading", { name: "Is it one of these?" }),
  ).toBeVisible();
  await expect(
    page.getByRole("link", { name: "Streetlight out" }),
  ).toBeVisible();
  await screenshot(page, "04-duplicates");
  await page.getByRole("button", { name: "Follow it instead" }).click();
  await expect(page.getByText("You now follow this report.")).toBeVisible();
  await page.getByRole("link", { name: "View report" }).click();
  await expect(page.getByText("You follow this report.")).toBeVisible();
  expect(page.url()).toContain(other.body.request_id);

  // The inbox is open; an operator acknowledges the report; the change shows within 2 s.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Inbox/ })
    .click();
  await expect(page.getByText("No messages yet.")).toBeVisible();
  const note = `Wir kümmern uns darum (${Date.now()}).`;
  const admin = await adminToken();
  const moved = await api("POST", `/v1/requests/${ownId}:transition`, {
    token: admin,
    body: { status: "ACKNOWLEDGED", public_note: note },
  });
  expect(moved.status).toBe(200);
  const t0 = Date.now();
  await expect(page.getByText(note)).toBeVisible({ timeout: 2_000 });
  const liveMs = Date.now() - t0;
  console.log(
    `live inbox update shown ${liveMs} ms after the transition answered`,
  );
  await expect(page.getByTestId("unread-badge")).toContainText("1");
  await screenshot(page, "05-inbox-live");

  // The report's page shows the new status and the public note in its history.
  await page.getByRole("link", { name: "Open the report" }).first().click();
  await expect(
    page.getByRole("heading", { level: 1, name: "Pothole" }),
  ).toBeVisible();
  await expect(page.getByText("Acknowledged").first()).toBeVisible();
  await expect(
    page.getByRole("region", { name: "History" }).getByText(note),
  ).toBeVisible();
  await screenshot(page, "06-request");

  // My reports lists it.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^My reports/ })
    .click();
  await expect(page.getByText(description)).toBeVisible();
  await screenshot(page, "07-my-reports");

  // Preferences: no e-mails about own reports, quiet hours on.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Account/ })
    .click();
  await expect(
    page.getByText(`Signed in as Ada Resident (${email})`),
  ).toBeVisible();
  await page.getByRole("link", { name: "Notification settings" }).click();
  const emailGroup = page.getByRole("group", { name: "E-mail" });
  await emailGroup.getByLabel("My reports").uncheck();
  await page.getByLabel("Hold push messages during quiet hours").check();
  await page.getByLabel("From").fill("21:30");
  await page.getByLabel("Until").fill("06:45");
  await screenshot(page, "08-preferences");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  const token = await signInApi(email, PASSWORD);
  const prefs = await api<{
    email?: { own_requests?: boolean };
    push_quiet_hours?: { enabled?: boolean; start?: string; end?: string };
  }>("GET", "/v1/me/notificationPreferences", { token });
  expect(prefs.body.email?.own_requests ?? false).toBe(false);
  expect(prefs.body.push_quiet_hours).toMatchObject({
    enabled: true,
    start: "21:30",
    end: "06:45",
  });

  // Privacy: download my data (a JSON file with the account in it), then delete the account.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Account/ })
    .click();
  await page.getByRole("link", { name: "Privacy and your data" }).click();
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download my data" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^cityhub-data-.*\.json$/);
  const exported = JSON.parse(
    readFileSync(await download.path(), "utf8"),
  ) as unknown;
  expect(JSON.stringify(exported)).toContain(email);
  await screenshot(page, "09-privacy");
  await page.getByLabel(/Enter your password to confirm/).fill(PASSWORD);
  await page
    .getByRole("button", { name: "Delete my account for good" })
    .click();
  await expect(page.getByText("Your account has been deleted.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Inbox" })).toHaveCount(0);
  const gone = await api("POST", "/v1/sessions", {
    body: { email, password: PASSWORD },
  });
  expect(gone.status).toBe(401);
});
