import { client, signedIn } from "./api";
import { createStore } from "./store";
import type { Notification } from "./types";

// The inbox's live part: the unread badge and the entries that arrived over the SDK's stream
// since the app started. The inbox screen lists pages from the API and merges these in.
export const unread = createStore(0);
export const live = createStore<Notification[]>([]);

let controller: AbortController | null = null;
let lastEventId: string | undefined;

export async function refreshUnread() {
  if (!client.isSignedIn()) return unread.set(0);
  try {
    unread.set(await client.notifications.unreadCount());
  } catch {
    // keep the last known count
  }
}

async function run(signal: AbortSignal) {
  let delay = 1000;
  while (!signal.aborted && client.isSignedIn()) {
    try {
      for await (const n of client.notifications.stream({
        lastEventId,
        signal,
      })) {
        const item = n as Notification;
        lastEventId = item.notification_id;
        delay = 1000;
        if (
          !live.get().some((x) => x.notification_id === item.notification_id)
        ) {
          live.set([item, ...live.get()]);
          if (!item.read) unread.set(unread.get() + 1);
        }
      }
    } catch {
      // the SDK reconnects by itself; here only when it gave up (e.g. signed out, offline)
    }
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

function start() {
  stop();
  controller = new AbortController();
  void refreshUnread();
  void run(controller.signal);
}

function stop() {
  controller?.abort();
  controller = null;
}

export function startInbox() {
  if (client.isSignedIn()) start();
  signedIn.subscribe((v) => {
    if (v) start();
    else {
      stop();
      lastEventId = undefined;
      live.set([]);
      unread.set(0);
    }
  });
  window.addEventListener("online", () => {
    if (client.isSignedIn()) void refreshUnread();
  });
}
