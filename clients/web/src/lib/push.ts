import { client, signedIn } from "./api";
import { config } from "./config";
import { createStore } from "./store";

// Web push: when the browser offers a push subscription, this browser is registered as a device
// (platform "web") whose token is the subscription as JSON (endpoint and keys).
export const pushState = createStore<"unknown" | "on" | "unavailable">(
  "unknown",
);

function urlBase64ToBytes(s: string): Uint8Array {
  const pad = "=".repeat((4 - (s.length % 4)) % 4);
  const raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function subscription(): Promise<PushSubscription | null> {
  if (!("serviceWorker" in navigator)) return null;
  const reg = await navigator.serviceWorker.ready;
  if (!reg.pushManager) return null;
  const existing = await reg.pushManager.getSubscription();
  if (existing) return existing;
  if (!config.web_push_public_key || typeof Notification === "undefined")
    return null;
  if (Notification.permission === "denied") return null;
  return reg.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: urlBase64ToBytes(
      config.web_push_public_key,
    ) as BufferSource,
  });
}

export async function registerPush(): Promise<void> {
  if (!client.isSignedIn()) return;
  try {
    const sub = await subscription();
    if (!sub) {
      pushState.set("unavailable");
      return;
    }
    await client.notifications.registerDevice({
      platform: "web",
      push_token: JSON.stringify(sub.toJSON()),
    });
    pushState.set("on");
  } catch {
    pushState.set("unavailable");
  }
}

export function startPush() {
  void registerPush();
  signedIn.subscribe((v) => v && void registerPush());
}
