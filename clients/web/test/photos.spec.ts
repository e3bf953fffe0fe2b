import { readFileSync } from "node:fs";
import { expect, test } from "./fixtures";
import { PHOTO, signInUi, uniqueSpot, verifiedResident } from "./helpers";

// Several photos with previews; a large camera photo is redrawn upright at 2560 px at most before
// it is uploaded (with progress), and both reach the report.
test("several photos: previews, removal, large ones scaled down before upload", async ({
  page,
}) => {
  const who = await verifiedResident("photos");
  await signInUi(page, who.email, who.password);
  await page.goto("/report");
  await page.getByRole("radio", { name: /^Overflowing public bin/ }).check();

  // A 3200×2400 JPEG, as a phone camera makes them.
  const big = await page.evaluate(async () => {
    const c = document.createElement("canvas");
    c.width = 3200;
    c.height = 2400;
    const ctx = c.getContext("2d")!;
    const g = ctx.createLinearGradient(0, 0, 3200, 2400);
    g.addColorStop(0, "#0b5394");
    g.addColorStop(1, "#f1c232");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 3200, 2400);
    const blob = await new Promise<Blob>((r) =>
      c.toBlob((b) => r(b!), "image/jpeg", 0.9),
    );
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  const input = page.getByLabel("Take or choose photos");
  await input.setInputFiles([
    {
      name: "camera.jpg",
      mimeType: "image/jpeg",
      buffer: Buffer.from(big, "base64"),
    },
    { name: "icon.png", mimeType: "image/png", buffer: readFileSync(PHOTO) },
  ]);
  await expect(page.getByRole("img", { name: "Photo 2" })).toBeVisible();
  await input.setInputFiles(PHOTO);
  await expect(page.getByRole("img", { name: "Photo 3" })).toBeVisible();
  await page.getByRole("button", { name: "Remove photo 3" }).click();
  await expect(page.getByRole("img", { name: "Photo 3" })).toHaveCount(0);

  const spot = uniqueSpot();
  await page.getByLabel("Latitude").fill(String(spot.lat));
  await page.getByLabel("Longitude").fill(String(spot.long));
  const sizes: { width: number; height: number }[] = [];
  page.on("response", async (r) => {
    if (
      r.request().method() === "POST" &&
      new URL(r.url()).pathname === "/v1/media" &&
      r.status() === 201
    ) {
      sizes.push((await r.json()) as { width: number; height: number });
    }
  });
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(
    page.getByText("Thank you! Your report has been sent."),
  ).toBeVisible();
  expect(sizes).toContainEqual(
    expect.objectContaining({ width: 2560, height: 1920 }),
  );
  expect(sizes).toContainEqual(
    expect.objectContaining({ width: 192, height: 192 }),
  );
  await page.getByRole("link", { name: "View report" }).click();
  await expect(
    page.getByRole("region", { name: "Photos" }).getByRole("img"),
  ).toHaveCount(2);
});
