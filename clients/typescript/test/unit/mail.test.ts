import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  decodeQuotedPrintable,
  mailText,
  tokenFromMail,
} from "../integration/mail.js";

// The integration tests read verification tokens from the SMTP sink with this reader.
describe("mail reader", () => {
  it("decodes base64 and quoted-printable parts of a multipart mail", () => {
    const html =
      '<a href="https://app/verify-email?token=abc_DEF-123">Bestätigen</a>';
    const raw = [
      "X-Sink-Rcpt: x@example.com",
      'Content-Type: multipart/alternative;\r\n boundary="b1"',
      "",
      "--b1",
      "Content-Type: text/plain; charset=UTF-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from(
        "Grüße: https://app/verify-email?token=abc_DEF-123\n",
      ).toString("base64"),
      "--b1",
      "Content-Type: text/html; charset=UTF-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      html
        .replace(/=/g, "=3D")
        .replace("ä", "=C3=A4")
        .replace("token", "to=\r\nken"),
      "--b1--",
      "",
    ].join("\r\n");
    const text = mailText(raw);
    assert.match(text, /Grüße: https:\/\/app\/verify-email\?token=abc_DEF-123/);
    assert.ok(text.includes(html), text);
  });

  it("decodes quoted-printable soft breaks and escapes", () => {
    assert.equal(
      decodeQuotedPrintable("a=3Db=\r\nc=C3=BC").toString("utf8"),
      "a=bcü",
    );
  });

  it("takes the token from the newest mail to the address", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mails-"));
    try {
      const mail = (to: string, token: string) =>
        `X-Sink-Rcpt: ${to}\r\nContent-Type: text/plain\r\n\r\nverify-email?token=${token}\r\n`;
      await writeFile(join(dir, "000001.eml"), mail("a@example.com", "old"));
      await writeFile(join(dir, "000002.eml"), mail("a@example.com", "new"));
      await writeFile(join(dir, "000003.eml"), mail("b@example.com", "other"));
      assert.equal(
        await tokenFromMail(dir, "A@example.com", "verify-email", 0),
        "new",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
