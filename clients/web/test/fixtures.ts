import { test as base } from "@playwright/test";
import { readFileSync } from "node:fs";
import { PHOTO } from "./helpers";

// Every test's browser context answers map tile requests itself (the runner configures a tiles
// URL on a host that does not exist), so the map code runs without any outside network.
export const TILES_HOST = "tiles.cityhub.test";
const tile = readFileSync(PHOTO);

export const test = base.extend<{ fakeTiles: void }>({
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
