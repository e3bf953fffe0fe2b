import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  adminToken,
  api,
  screenshot,
  signInApi,
  signInUi,
  verifiedResident,
} from "./helpers";

// What the staff console's specs (and the accessibility spec) share: signing in as the bootstrap
// admin, screenshots for docs/img, the axe-core check, and a department of a test's own.

const docsImg = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "docs",
  "img",
);

/** Signs the page in as the stack's first admin (CITYHUB_ADMIN_PASSWORD_FILE). */
export async function signInAdmin(page: Page) {
  const file = process.env.CITYHUB_ADMIN_PASSWORD_FILE;
  if (!file) throw new Error("CITYHUB_ADMIN_PASSWORD_FILE is not set");
  await signInUi(
    page,
    process.env.CITYHUB_ADMIN_EMAIL || "admin@bielefeld.de",
    readFileSync(file, "utf8").trim(),
  );
}

/** A screenshot in the artifacts; with CITYHUB_DOCS_SCREENSHOTS=1 also in docs/img/. */
export async function docsShot(page: Page, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
  if (process.env.CITYHUB_DOCS_SCREENSHOTS === "1")
    await page.screenshot({ path: join(docsImg, `${name}.png`) });
}

/** No serious or critical axe-core violation on the page as it is. */
export async function noA11yViolations(page: Page, name: string) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
  expect(bad, bad.join("\n")).toEqual([]);
}

export interface StaffDepartment {
  tag: string;
  dept: string;
  code: string;
  name: string;
  admin: string;
  operator: { email: string; password: string };
}

/** A category (SLA 48 h, no questions) in a new department `${prefix}-<tag>`, and a verified
 * account made operator of it, so that other tests' reports stay out of its figures. */
export async function staffDepartment(
  prefix: string,
  name: string,
): Promise<StaffDepartment> {
  const admin = await adminToken();
  const tag = Date.now().toString(36) + Math.random().toString(36).slice(2, 5);
  const dept = `${prefix}-${tag}`;
  const code = `${prefix}_${tag}`;
  const both = (s: string) => ({ de: s, en: s });
  const svc = await api("POST", "/v1/services", {
    token: admin,
    body: {
      service_code: code,
      names: both(`${name} ${tag}`),
      descriptions: both("A broken bench"),
      group: "Test",
      department: dept,
      sla_hours: 48,
      details_public: true,
      active: true,
      attributes: [],
    },
  });
  expect(svc.status, JSON.stringify(svc.body)).toBe(201);
  const operator = await verifiedResident(`${prefix}-operator`);
  const me = await api<{ account_id: string }>("GET", "/v1/me", {
    token: await signInApi(operator.email, operator.password),
  });
  const roles = await api(
    "POST",
    `/v1/accounts/${me.body.account_id}:setRoles`,
    { token: admin, body: { roles: ["operator"], departments: [dept] } },
  );
  expect(roles.status, JSON.stringify(roles.body)).toBe(200);
  return { tag, dept, code, name: `${name} ${tag}`, admin, operator };
}
