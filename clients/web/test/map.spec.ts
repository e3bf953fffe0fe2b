import { expect, test } from "./fixtures";
import { screenshot } from "./helpers";

// With a tiles URL configured (the runner sets one; the fixture serves the tiles), the report
// form has a map whose pin sets the position, and "near me" shows the reports on a map.
test("map: tapping the map sets the report's position; near me shows a map", async ({
  page,
}) => {
  await page.goto("/report");
  await page.getByRole("radio", { name: /^Graffiti/ }).check();
  const map = page.getByRole("region", { name: "Location" });
  await expect(map).toBeVisible();
  await expect(map.locator("img.leaflet-tile-loaded").first()).toBeVisible();
  await expect(page.getByLabel("Latitude")).toHaveValue("");
  await map.click({ position: { x: 120, y: 80 } });
  await expect(page.getByLabel("Latitude")).not.toHaveValue("");
  await expect(page.getByLabel("Longitude")).not.toHaveValue("");
  const lat = Number(await page.getByLabel("Latitude").inputValue());
  expect(lat).toBeGreaterThan(51.9);
  expect(lat).toBeLessThan(52.1);
  await screenshot(page, "13-report-map");

  // The device's position fills the fields and moves the pin.
  await page.context().grantPermissions(["geolocation"]);
  await page.context().setGeolocation({ latitude: 52.0302, longitude: 8.5311 });
  await page.getByRole("button", { name: "Use my location" }).click();
  await expect(page.getByLabel("Latitude")).toHaveValue("52.0302");
  await expect(page.getByLabel("Longitude")).toHaveValue("8.5311");

  await page.goto("/near");
  await expect(
    page.getByRole("region", { name: "Map of reports near you" }),
  ).toBeVisible();
});
