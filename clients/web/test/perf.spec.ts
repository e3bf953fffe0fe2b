import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "./fixtures";
import { shotsDir } from "./helpers";

// Time to interactive of a first visit (no cache, no service worker yet) at the phone viewport:
// from navigation start to the app's "cityhub:interactive" mark, unthrottled and with a phone-like
// CPU (4x slower) and network (150 ms RTT, 1.6 Mbit/s down).
test("time to interactive at the phone viewport", async ({ browser }) => {
  const results: Record<string, number> = {};
  for (const throttled of [false, true]) {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: "en-GB",
    });
    const page = await context.newPage();
    if (throttled) {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 150,
        downloadThroughput: (1.6 * 1024 * 1024) / 8,
        uploadThroughput: (750 * 1024) / 8,
      });
    }
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    const ms = await page.evaluate(() => {
      const mark = performance.getEntriesByName("cityhub:interactive")[0];
      return mark ? Math.round(mark.startTime) : -1;
    });
    expect(ms).toBeGreaterThan(0);
    results[throttled ? "tti_ms_phone_throttled" : "tti_ms_unthrottled"] = ms;
    await context.close();
  }
  console.log(`time to interactive: ${JSON.stringify(results)}`);
  writeFileSync(
    join(shotsDir(), "..", "timing.json"),
    JSON.stringify(results, null, 2) + "\n",
  );
});
