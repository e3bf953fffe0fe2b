import { expect, test } from "./fixtures";
import { api, signInApi, signInUi, verifiedResident } from "./helpers";

// (5) When the browser offers a push subscription, the app registers it as a device (platform
// "web"). Headless Chromium has none, so a fake PushManager stands in for it.
test("a push subscription is registered as a web device", async ({ page }) => {
  await page.addInitScript(() => {
    const sub = {
      endpoint: "https://push.example.invalid/send/fake-subscription-1",
      expirationTime: null,
      toJSON() {
        return {
          endpoint: this.endpoint,
          expirationTime: null,
          keys: { p256dh: "BFakeKey", auth: "fakeAuth" },
        };
      },
      unsubscribe: async () => true,
    };
    const manager = {
      getSubscription: async () => sub,
      subscribe: async () => sub,
      permissionState: async () => "granted",
    };
    Object.defineProperty(ServiceWorkerRegistration.prototype, "pushManager", {
      configurable: true,
      get: () => manager,
    });
  });
  const who = await verifiedResident("push");
  const registered = page.waitForRequest(
    (r) => r.method() === "POST" && new URL(r.url()).pathname === "/v1/devices",
  );
  await signInUi(page, who.email, who.password);
  const req = await registered;
  const body = req.postDataJSON() as { platform: string; push_token: string };
  expect(body.platform).toBe("web");
  expect(JSON.parse(body.push_token)).toMatchObject({
    endpoint: "https://push.example.invalid/send/fake-subscription-1",
  });
  const res = await req.response();
  expect(res?.status()).toBe(201);

  const token = await signInApi(who.email, who.password);
  const devices = await api<{ devices?: { platform: string }[] }>(
    "GET",
    "/v1/devices",
    { token },
  );
  expect(devices.body.devices?.map((d) => d.platform)).toEqual(["web"]);
  await page
    .getByRole("navigation")
    .getByRole("link", { name: /^Account/ })
    .click();
  await expect(
    page.getByText("This browser receives push messages."),
  ).toBeVisible();
});
