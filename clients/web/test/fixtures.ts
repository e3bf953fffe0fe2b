import { test as base } from "@playwright/test";
import { readFileSync } from "node:fs";
import { PHOTO } from "./helpers";

// Every test's browser context answers map tile requests itself (the runner configures a tiles
// URL on a host that does not exist), so the map code runs without any outside network.
export const TILES_HOST = "tiles.cityhub.test";
const tile = readFileSync(PHOTO);

export const test = base.extend<{ fakeTiles: void; noCspViolations: void }>({
  // The gateway's strict Content-Security-Policy must never block anything the app does.
  noCspViolations: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on("console", (m) => {
        if (
          /Content Security Policy|Refused to (load|execute|apply|connect)/i.test(
            m.text(),
          )
        ) {
          violations.push(m.text());
        }
      });
      await use();
      if (violations.length)
        throw new Error(`CSP violations:\n${violations.join("\n")}`);
    },
    { auto: true },
  ],
  fakeTiles: [
    async ({ context }, use) => {
      await context.route(`https://${TILES_HOST}/**`, (route) =>
        route.fulfill({ status: 200, contentType: "image/png", body: tile }),
      );
      await use();
    },
    { auto: true },
  ],
});

export { expect } from "@playwright/test";
