import { expect, test } from "./fixtures";
import { screenshot } from "./helpers";

// (3) German for a German browser, switchable to English, remembered, and `lang` follows.
test.use({ locale: "de-DE" });

test("language follows the browser, switches and is remembered", async ({
  page,
}) => {
  await page.goto("/");
  await expect(
    page.getByRole("heading", {
      level: 1,
      name: "Melden Sie ein Problem in Ihrer Stadt",
    }),
  ).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "de");
  await expect(
    page
      .getByRole("navigation", { name: "Hauptnavigation" })
      .getByRole("link", { name: "Melden" }),
  ).toBeVisible();
  await screenshot(page, "11-home-de");

  await page.getByRole("combobox", { name: "Sprache" }).selectOption("en");
  await expect(
    page.getByRole("heading", {
      level: 1,
      name: "Report a problem in your city",
    }),
  ).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");

  // The categories come from the API in the chosen language.
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Report/ })
    .click();
  await expect(page.getByRole("radio", { name: /^Pothole/ })).toBeVisible();

  await page.reload();
  await expect(page.getByRole("radio", { name: /^Pothole/ })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");

  await page.getByRole("combobox", { name: "Language" }).selectOption("de");
  await expect(page.getByRole("radio", { name: /^Schlagloch/ })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "de");
});
