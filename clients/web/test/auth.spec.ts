import { expect, test } from "./fixtures";
import {
  linkFromMail,
  screenshot,
  signInApi,
  verifiedResident,
} from "./helpers";

// Forgot password → the mail's /reset-password link → a new password that signs in; a used or
// missing token is explained on the landing pages.
test("password reset from the mail's landing page", async ({ page }) => {
  const who = await verifiedResident("reset");
  const next = "Herbst-Laub-Wind-2026";

  await page.goto("/sign-in");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(
    page.getByRole("heading", { level: 1, name: "Reset your password" }),
  ).toBeFocused();
  await page.getByLabel(/^E-mail address/).fill(who.email);
  await page.getByRole("button", { name: "Send link" }).click();
  await expect(page.getByText(/a link is on its way/)).toBeVisible();

  const link = await linkFromMail(who.email, "/reset-password");
  await page.goto(link);
  await expect(
    page.getByRole("heading", { level: 1, name: "Choose a new password" }),
  ).toBeVisible();
  await page.getByLabel(/^New password/).fill(next);
  await screenshot(page, "15-reset-password");
  await page.getByRole("button", { name: "Save password" }).click();
  await expect(page.getByText("Your password has been changed.")).toBeVisible();
  expect(await signInApi(who.email, next)).toBeTruthy();

  // The link works once.
  await page.goto(link);
  await page.getByLabel(/^New password/).fill("Noch-ein-Versuch-99");
  await page.getByRole("button", { name: "Save password" }).click();
  await expect(page.getByText(/This link is no longer valid/)).toBeVisible();

  await page.goto("/verify-email");
  await expect(page.getByText(/This link is incomplete/)).toBeVisible();
  await page.goto("/verify-email?token=not-a-real-token");
  await expect(page.getByText(/This link is no longer valid/)).toBeVisible();
});

test("a wrong password is told apart; an unknown path shows not found", async ({
  page,
}) => {
  await page.goto("/sign-in");
  await page.getByLabel(/^E-mail address/).fill("nobody@example.org");
  await page.getByLabel(/^Password/).fill("Falsches-Passwort-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(
    "E-mail address or password is wrong.",
  );
  await page.goto("/no/such/page");
  await expect(
    page.getByRole("heading", { level: 1, name: "Page not found" }),
  ).toBeVisible();
});
