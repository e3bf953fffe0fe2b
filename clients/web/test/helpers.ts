import { expect, type Page } from "@playwright/test";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const base = (): string => {
  const u = process.env.CITYHUB_WEB_BASE_URL;
  if (!u)
    throw new Error(
      "CITYHUB_WEB_BASE_URL is not set (run test/run-browser-tests.sh)",
    );
  return u.replace(/\/$/, "");
};

const here = dirname(fileURLToPath(import.meta.url));
export const PHOTO = join(here, "..", "public", "icons", "icon-192.png");

export function shotsDir(): string {
  const dir = join(
    process.env.CITYHUB_ARTIFACTS_DIR || join(here, "..", "test-results"),
    "screenshots",
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(shotsDir(), `${name}.png`) });
}

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.org`;
}

export const PASSWORD = "Sommer-Regen-Fahrrad-77";

/** A position inside Bielefeld that no other test uses (so duplicate suggestions stay apart). */
export function uniqueSpot(): { lat: number; long: number } {
  return {
    lat: Number((52.0 + Math.random() * 0.04).toFixed(6)),
    long: Number((8.5 + Math.random() * 0.06).toFixed(6)),
  };
}

// ---- mail from the SMTP sink (one MIME file per mail) ----

function decodePart(part: string): string {
  const [head, ...rest] = part.split(/\r?\n\r?\n/);
  const body = rest.join("\n\n");
  if (/content-transfer-encoding:\s*base64/i.test(head)) {
    return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    return body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, h: string) =>
        String.fromCharCode(parseInt(h, 16)),
      );
  }
  return body;
}

function mailTexts(raw: string): string[] {
  const m = /boundary="?([^";\r\n]+)"?/i.exec(raw);
  if (!m) return [decodePart(raw)];
  return raw
    .split("--" + m[1])
    .slice(1)
    .map(decodePart);
}

/** Waits for a mail to `to` containing a link to `path` and returns the link's path and query. */
export async function linkFromMail(to: string, path: string): Promise<string> {
  const dir = process.env.CITYHUB_MAIL_DIR;
  if (!dir) throw new Error("CITYHUB_MAIL_DIR is not set");
  const re = new RegExp(
    `https?://[^\\s"<>]*(${path.replace(/[/-]/g, "\\$&")}\\?token=[A-Za-z0-9_.\\-]+)`,
  );
  let found = "";
  await expect
    .poll(
      () => {
        for (const f of readdirSync(dir).sort().reverse()) {
          const raw = readFileSync(join(dir, f), "utf8");
          if (!raw.toLowerCase().includes(`x-sink-rcpt: ${to.toLowerCase()}`))
            continue;
          for (const text of mailTexts(raw)) {
            const hit = re.exec(text);
            if (hit) {
              found = hit[1];
              return true;
            }
          }
        }
        return false;
      },
      { timeout: 15_000, message: `a mail to ${to} with ${path}` },
    )
    .toBe(true);
  return found;
}

// ---- the API, called directly as the operator or to check what the app did ----

export async function api<T = unknown>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(base() + path, {
    method,
    headers: {
      ...(opts.body !== undefined
        ? { "Content-Type": "application/json" }
        : {}),
      ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export async function signInApi(
  email: string,
  password: string,
): Promise<string> {
  const r = await api<{ access_token: string }>("POST", "/v1/sessions", {
    body: { email, password },
  });
  if (r.status !== 200)
    throw new Error(
      `sign-in of ${email}: ${r.status} ${JSON.stringify(r.body)}`,
    );
  return r.body.access_token;
}

export async function adminToken(): Promise<string> {
  const file = process.env.CITYHUB_ADMIN_PASSWORD_FILE;
  if (!file) throw new Error("CITYHUB_ADMIN_PASSWORD_FILE is not set");
  return signInApi(
    process.env.CITYHUB_ADMIN_EMAIL || "admin@bielefeld.de",
    readFileSync(file, "utf8").trim(),
  );
}

/** A verified resident made through the API (for tests whose subject is not registration). */
export async function verifiedResident(
  prefix: string,
): Promise<{ email: string; password: string }> {
  const email = uniqueEmail(prefix);
  const r = await api("POST", "/v1/accounts", {
    body: {
      email,
      password: PASSWORD,
      display_name: "Test Resident",
      language: "en",
    },
  });
  if (r.status !== 201 && r.status !== 200)
    throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  const link = await linkFromMail(email, "/verify-email");
  const token = new URL(link, base()).searchParams.get("token");
  const v = await api("POST", "/v1/accounts:verifyEmail", { body: { token } });
  if (v.status !== 200) throw new Error(`verify: ${v.status}`);
  return { email, password: PASSWORD };
}

export async function signInUi(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel(/^E-mail address/).fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("link", { name: "Inbox" })).toBeVisible();
}
