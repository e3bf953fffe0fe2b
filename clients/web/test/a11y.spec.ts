import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { screenshot, signInUi, verifiedResident } from "./helpers";
import { noA11yViolations } from "./staff-helpers";

// (4) axe-core on the main screens: no serious or critical violation.
async function check(page: Page, name: string) {
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(
    page.getByRole("status").filter({ hasText: /^Loading/ }),
  ).toHaveCount(0);
  await noA11yViolations(page, name);
}

test("no serious accessibility violation on the main screens", async ({
  page,
}) => {
  for (const path of [
    "/",
    "/sign-in",
    "/register",
    "/forgot-password",
    "/near",
  ]) {
    await page.goto(path);
    await check(page, path);
  }
  await page.goto("/report");
  await page.getByRole("radio", { name: /^Illegal dumping/ }).check();
  await expect(
    page.getByRole("group", { name: /What is there\?/ }),
  ).toBeVisible();
  await check(page, "/report (illegal dumping)");

  const who = await verifiedResident("a11y");
  await signInUi(page, who.email, who.password);
  // A fresh load knows the account (not only a sign-in in the same page).
  await page.goto("/account");
  await expect(
    page.getByText(`Signed in as Test Resident (${who.email})`),
  ).toBeVisible();
  for (const path of [
    "/account",
    "/inbox",
    "/my-reports",
    "/settings/notifications",
    "/settings/privacy",
  ]) {
    await page.goto(path);
    await check(page, path);
  }
  await page.goto("/near");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await screenshot(page, "12-near");
});

test("keyboard: skip link, focus moves to the new page's heading", async ({
  page,
}) => {
  await page.goto("/");
  await page.keyboard.press("Tab");
  await expect(
    page.getByRole("link", { name: "Skip to content" }),
  ).toBeFocused();
  await page.keyboard.press("Enter");
  await page.getByRole("link", { name: "Report a problem" }).first().focus();
  await page.keyboard.press("Enter");
  await expect(
    page.getByRole("heading", { level: 1, name: "Report a problem" }),
  ).toBeFocused();
});
