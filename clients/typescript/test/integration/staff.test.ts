// client.staff against the real local stack (scripts/integration.sh starts it): an operator of a
// department of its own counts its queue, acknowledges in bulk, assigns, uses a response
// template, moderates and hides a comment.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CityhubClient, CityhubError } from "../../src/index.js";
import { tokenFromMail } from "./mail.js";

const baseUrl = process.env.CITYHUB_TEST_BASE_URL ?? "";
const mailDir = process.env.CITYHUB_TEST_MAIL_DIR ?? "";
const adminPasswordFile = process.env.CITYHUB_TEST_ADMIN_PASSWORD_FILE ?? "";
const missing = baseUrl === "" || mailDir === "" || adminPasswordFile === "";

async function verifiedClient(prefix: string): Promise<CityhubClient> {
  const email = `${prefix}-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
  const password = `Kx9-${randomBytes(9).toString("base64url")}`;
  const c = new CityhubClient({ baseUrl, language: () => "en" });
  await c.accounts.register({
    email,
    password,
    display_name: "Staff SDK Test",
    language: "en",
  });
  await c.accounts.verifyEmail(
    await tokenFromMail(mailDir, email, "verify-email"),
  );
  await c.signIn(email, password);
  return c;
}

describe(
  "client.staff against the local stack",
  { skip: missing && "CITYHUB_TEST_* not set" },
  () => {
    const tag = randomBytes(4).toString("hex");
    const dept = `sdk-staff-${tag}`;
    const code = `sdk_staff_${tag}`;
    const admin = new CityhubClient({ baseUrl });
    let operator: CityhubClient;
    let resident: CityhubClient;
    let me = "";
    const ids: string[] = [];

    before(async () => {
      await admin.signIn(
        "admin@bielefeld.de",
        readFileSync(adminPasswordFile, "utf8").trim(),
      );
      await admin.call("POST", "/v1/services", {
        body: {
          service_code: code,
          names: { de: "Bank", en: "Bench" },
          department: dept,
          sla_hours: 24,
          details_public: true,
          active: true,
        },
      });
      operator = await verifiedClient("sdk-op");
      me = (await operator.accounts.me()).account_id;
      await admin.call("POST", `/v1/accounts/${me}:setRoles`, {
        body: { roles: ["operator"], departments: [dept] },
      });
      await operator.refreshSession(); // the new role in the access token
      resident = await verifiedClient("sdk-res");
      for (let i = 0; i < 3; i++) {
        const r = await resident.requests.create({
          service_code: code,
          lat: 52.02 + i / 1000,
          long: 8.53,
          description: `bench ${i}`,
        });
        ids.push(r.request_id);
      }
    });
    after(async () => {
      await Promise.all([admin, operator, resident].map((c) => c?.signOut()));
    });

    it("counts and lists the department's queue", async () => {
      assert.deepEqual(
        await operator.staff.count({ department: dept, status: ["SUBMITTED"] }),
        { count: 3, exact: true },
      );
      assert.deepEqual(
        await operator.staff.count(
          { department: dept, status: ["SUBMITTED"] },
          2,
        ),
        { count: 2, exact: false },
      );
      const page = await operator.staff.queuePage({ department: dept });
      assert.deepEqual(
        page.requests.map((r) => r.request_id).sort(),
        [...ids].sort(),
      );
    });

    it("acknowledges in bulk and reports the one it may not move", async () => {
      await operator.requests.transition(ids[0]!, { status: "ACKNOWLEDGED" });
      const out = await operator.staff.acknowledgeAll(ids, {
        public_note: "Wir sehen es uns an.",
      });
      assert.deepEqual(
        out.map((o) => o.ok),
        [false, true, true],
      );
      const first = out[0]!;
      assert.ok(!first.ok && first.error instanceof CityhubError);
      assert.equal(first.error.status, 400);
      const r = await resident.requests.get(ids[1]!);
      assert.equal(r.status, "ACKNOWLEDGED");
      assert.equal(r.status_notes, "Wir sehen es uns an.");
    });

    it("assigns to the operator and unassigns", async () => {
      const a = await operator.staff.assign(ids[0]!, me);
      assert.equal(a.assignee_account_id, me);
      const mine = await operator.staff.queuePage({ assignee: "me" });
      assert.deepEqual(
        mine.requests.map((r) => r.request_id),
        [ids[0]],
      );
      const u = await operator.staff.assign(ids[0]!, "");
      assert.equal(u.assignee_account_id, "");
    });

    it("lists the department's response templates", async () => {
      await operator.call("POST", "/v1/responseTemplates", {
        body: { department: dept, title: "On it", text_de: "Wir kümmern uns." },
      });
      const all = await operator.staff.responseTemplates(dept);
      assert.deepEqual(
        all.map((t) => [t.title, t.text_de]),
        [["On it", "Wir kümmern uns."]],
      );
    });

    it("redacts a description and hides a comment", async () => {
      const m = await operator.staff.moderate(ids[1]!, {
        description: "",
        reason: "personal data",
      });
      assert.equal(m.description, "");
      const c = await resident.requests.addComment(ids[1]!, "call 0521 1234");
      const hidden = await operator.staff.hideComment(
        ids[1]!,
        c.comment_id,
        "phone number",
      );
      assert.equal(hidden.hidden, true);
      const seen = await resident.requests.commentsPage(ids[1]!);
      assert.equal(
        seen.comments.some((x) => x.comment_id === c.comment_id),
        false,
      );
    });
  },
);
