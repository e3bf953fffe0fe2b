import { defineConfig } from "@playwright/test";

// Browser tests against the real stack (see run-browser-tests.sh, which starts it and passes
// CITYHUB_WEB_BASE_URL, CITYHUB_MAIL_DIR and CITYHUB_ADMIN_PASSWORD_FILE).
const artifacts = process.env.CITYHUB_ARTIFACTS_DIR || "test-results";

export default defineConfig({
  testDir: ".",
  testMatch: /.*\.spec\.ts$/,
  outputDir: `${artifacts}/playwright`,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  // The resident app at a phone's size; the staff console (staff-*.spec.ts) on a desktop.
  projects: [
    { name: "phone", testIgnore: /staff-.*\.spec\.ts$/ },
    {
      name: "staff",
      testMatch: /staff-.*\.spec\.ts$/,
      use: { viewport: { width: 1440, height: 900 }, hasTouch: false },
    },
  ],
  use: {
    baseURL: process.env.CITYHUB_WEB_BASE_URL,
    viewport: { width: 390, height: 844 },
    isMobile: false,
    hasTouch: true,
    locale: "en-GB",
    headless: true,
    serviceWorkers: "allow",
    acceptDownloads: true,
    trace: "off",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CITYHUB_CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
  },
});
