// The SDK against the real local stack (scripts/integration.sh starts it): a resident's whole
// journey from registering to deleting the account, with an operator's transition arriving on
// the live stream.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { deflateSync } from "node:zlib";
import {
  CityhubClient,
  CityhubError,
  type Notification,
  type Request,
} from "../../src/index.js";
import { tokenFromMail } from "./mail.js";

const baseUrl = process.env.CITYHUB_TEST_BASE_URL ?? "";
const mailDir = process.env.CITYHUB_TEST_MAIL_DIR ?? "";
const adminPasswordFile = process.env.CITYHUB_TEST_ADMIN_PASSWORD_FILE ?? "";
const missing = baseUrl === "" || mailDir === "" || adminPasswordFile === "";

/** A valid w×h RGB PNG, made here (CRC-32 per chunk, zlib data). */
function png(w: number, h: number): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = (table[(c ^ x) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++)
      rows.set([x * 8, y * 8, 200], y * (w * 3 + 1) + 1 + x * 3);
  }
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", deflateSync(rows)),
      chunk("IEND", Buffer.alloc(0)),
    ]),
  );
}

/** The first value of each required list attribute: a valid answer for any category. */
function answers(
  service: Awaited<ReturnType<CityhubClient["services"]["get"]>>,
) {
  const out: Record<string, unknown> = {};
  for (const a of service.attributes ?? []) {
    if (a.required !== true || a.variable === false) continue;
    const key = a.values?.[0]?.key ?? "";
    if (a.datatype === "multivaluelist") out[String(a.code)] = [key];
    else if (a.datatype === "number") out[String(a.code)] = 1;
    else if (a.datatype === "singlevaluelist") out[String(a.code)] = key;
    else out[String(a.code)] = "test";
  }
  return out;
}

describe(
  "the SDK against the local stack",
  { skip: missing && "CITYHUB_TEST_* not set" },
  () => {
    const email = `sdk-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
    const password = `Kx9-${randomBytes(9).toString("base64url")}`;
    const resident = new CityhubClient({ baseUrl, language: () => "en" });
    const admin = new CityhubClient({ baseUrl });
    let request: Request | undefined;

    before(async () => {
      await admin.signIn(
        "admin@bielefeld.de",
        readFileSync(adminPasswordFile, "utf8").trim(),
      );
    });
    after(async () => {
      await admin.signOut();
    });

    it("registers, verifies the e-mail from the mail, signs in", async () => {
      const account = await resident.accounts.register({
        email,
        password,
        display_name: "SDK Test",
        language: "en",
      });
      assert.equal(account.email, email);
      assert.equal(account.email_verified, false);
      const token = await tokenFromMail(mailDir, email, "verify-email");
      await resident.accounts.verifyEmail(token);
      await resident.signIn(email, password);
      assert.equal(resident.isSignedIn(), true);
      const me = await resident.accounts.me();
      assert.equal(me.email_verified, true);
    });

    it("lists services, uploads a photo with progress, files a request retry-safely", async () => {
      const services = await resident.services.list();
      assert.ok(services.length > 0);
      const code = services.some((s) => s.service_code === "pothole")
        ? "pothole"
        : String(services[0]?.service_code);
      const service = await resident.services.get(code);

      const image = png(16, 12);
      const progress: Array<[number, number]> = [];
      const media = await resident.media.upload(image, "image/png", {
        onProgress: (sent, total) => progress.push([sent, total]),
      });
      assert.ok(media.media_id);
      assert.deepEqual(progress.at(-1), [image.byteLength, image.byteLength]);

      const body = {
        service_code: code,
        lat: 52.0211,
        long: 8.5325,
        address: "Niederwall 25",
        description: "SDK integration test",
        attributes: answers(service),
        media_ids: [String(media.media_id)],
      };
      const key = `sdk-it-${randomBytes(8).toString("hex")}`;
      const created = await resident.requests.create(body, {
        idempotencyKey: key,
      });
      // the same key again (a resend after a lost answer) files nothing new
      const again = await resident.requests.create(body, {
        idempotencyKey: key,
      });
      assert.equal(again.request_id, created.request_id);
      request = await resident.requests.get(String(created.request_id));
      assert.equal(request.status, "SUBMITTED");
      assert.equal(request.service_code, code);
      assert.equal(request.media_urls?.length, 1);

      const mine: string[] = [];
      for await (const r of resident.requests.mine())
        mine.push(String(r.request_id));
      assert.deepEqual(mine, [created.request_id]);
    });

    it("follows it and gets the operator's transition on the live stream", async () => {
      assert.ok(request);
      const id = String(request.request_id);
      const follow = await resident.requests.follow(id);
      assert.equal(follow.following, true);

      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 20_000);
      let opened!: () => void;
      const open = new Promise<void>((r) => (opened = r));
      const got: Notification[] = [];
      const reading = (async () => {
        for await (const n of resident.notifications.stream({
          signal: ac.signal,
          onOpen: opened,
        })) {
          got.push(n);
          if (n.request_id === id) break;
        }
      })();
      await open;
      const moved = await admin.requests.transition(id, {
        status: "ACKNOWLEDGED",
        public_note: "Wir kümmern uns darum.",
      });
      assert.equal(moved.status, "ACKNOWLEDGED");
      await reading;
      clearTimeout(timer);
      const n = got.find((x) => x.request_id === id);
      assert.ok(n, "the transition's notification arrived on the stream");
      assert.match(String(n.kind), /REQUEST_STATUS/);

      assert.ok((await resident.notifications.unreadCount()) >= 1);
      const inbox: string[] = [];
      for await (const x of resident.notifications.list())
        inbox.push(String(x.notification_id));
      assert.ok(inbox.includes(String(n.notification_id)));
      await resident.notifications.markAllRead();
      assert.equal(await resident.notifications.unreadCount(), 0);
    });

    it("exports the data and deletes the account", async () => {
      assert.ok(request);
      const data = (await resident.accounts.exportMyData()) as {
        accounts?: { account?: { email?: string } };
        requests?: { requests?: Array<{ request_id?: string }> };
      };
      assert.equal(data.accounts?.account?.email, email);
      assert.ok(
        data.requests?.requests?.some(
          (r) => r.request_id === request?.request_id,
        ),
      );

      await resident.accounts.deleteAccount(password);
      assert.equal(resident.isSignedIn(), false);
      await assert.rejects(
        resident.signIn(email, password),
        (e: CityhubError) => {
          assert.equal(e.status, 401);
          assert.ok(e.requestId !== "");
          return true;
        },
      );
    });
  },
);
