import { expect, test } from "./fixtures";
import {
  api,
  PHOTO,
  screenshot,
  signInApi,
  signInUi,
  uniqueSpot,
  verifiedResident,
} from "./helpers";

interface Listed {
  requests?: { request_id: string; description?: string }[];
}

// (2) A report made without network is kept (IndexedDB, with its idempotency key and photo),
// the app shell still loads offline, and the report is sent exactly once when the network returns.
test("offline report is queued and sent exactly once when back online", async ({
  page,
  context,
}) => {
  const description = `Offline gemeldet ${Date.now()}`;
  const spot = uniqueSpot();
  page.on(
    "console",
    (m) => m.type() === "warning" && console.log(`[browser] ${m.text()}`),
  );
  const who = await verifiedResident("offline");
  await signInUi(page, who.email, who.password);

  await page.goto("/report");
  await expect(
    page.getByRole("heading", { level: 1, name: "Report a problem" }),
  ).toBeVisible();
  // The service worker has cached the shell before we go offline.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.getByRole("radio", { name: /^Overflowing public bin/ }).check();
  await page.getByLabel(/^Description/).fill(description);
  await page.getByLabel("Take or choose photos").setInputFiles(PHOTO);
  await page.getByLabel("Latitude").fill(String(spot.lat));
  await page.getByLabel("Longitude").fill(String(spot.long));

  await context.setOffline(true);
  await page.getByRole("button", { name: "Send report" }).click();
  await expect(
    page.getByText(/You are offline\. Your report is saved/),
  ).toBeVisible();
  await screenshot(page, "10-offline-queued");

  // The app shell loads without network (service worker) and knows the waiting report.
  await page.goto("/");
  await expect(
    page.getByRole("heading", {
      level: 1,
      name: "Report a problem in your city",
    }),
  ).toBeVisible();
  await expect(page.getByText("1 report(s) waiting to be sent")).toBeVisible();

  // Back online: the `online` event sends it.
  await context.setOffline(false);
  await expect(page.getByText("1 report(s) waiting to be sent")).toHaveCount(
    0,
    { timeout: 20_000 },
  );

  const token = await signInApi(who.email, who.password);
  const find = async () => {
    const r = await api<Listed>("GET", "/v1/me/requests?page_size=100", {
      token,
    });
    expect(r.status).toBe(200);
    return (r.body.requests ?? []).filter((x) => x.description === description);
  };
  await expect
    .poll(async () => (await find()).length, { timeout: 10_000 })
    .toBe(1);

  // A restart (which flushes the outbox again) sends nothing more.
  await page.reload();
  await expect(
    page.getByRole("heading", {
      level: 1,
      name: "Report a problem in your city",
    }),
  ).toBeVisible();
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const req = indexedDB.open("cityhub");
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction("outbox", "readonly");
          const all = tx.objectStore("outbox").count();
          all.onsuccess = () =>
            all.result === 0 ? resolve() : setTimeout(() => resolve(), 500);
        };
      }),
  );
  const found = await find();
  expect(found).toHaveLength(1);
  const one = await api<{ media_urls?: string[] }>(
    "GET",
    `/v1/requests/${found[0].request_id}`,
  );
  expect(one.body.media_urls ?? []).toHaveLength(1);
});
