/// <reference lib="webworker" />
// The service worker: precaches the app shell (index.html and the hashed assets, listed at build
// time) so the app starts offline; index.html network-first, /assets/ cache-first; API answers
// (/v1/...) and everything else go to the network untouched.
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `cityhub-shell-${__VERSION__}`;

sw.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(__PRECACHE__))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((k) => k.startsWith("cityhub-shell-") && k !== CACHE)
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => sw.clients.claim()),
  );
});

async function networkFirstShell(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    if (res.ok && res.headers.get("content-type")?.includes("text/html")) {
      await cache.put("/index.html", res.clone());
    }
    return res;
  } catch {
    const cached = await cache.match("/index.html");
    if (cached) return cached;
    throw new Error("offline and no cached shell");
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

const API =
  /^\/(v1|open311|\.well-known|openapi\.json|healthz|readyz|metrics)(\/|$|:)/;

sw.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin || API.test(url.pathname)) return;
  if (req.mode === "navigate" || url.pathname === "/index.html") {
    event.respondWith(networkFirstShell(req));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(req));
  } else if (__PRECACHE__.includes(url.pathname)) {
    event.respondWith(caches.match(req).then((r) => r ?? fetch(req)));
  }
});

interface PushData {
  title?: string;
  body?: string;
  request_id?: string;
  notification?: { title?: string; body?: string };
  data?: { request_id?: string };
}

sw.addEventListener("push", (event) => {
  let d: PushData = {};
  try {
    d = (event.data?.json() as PushData) ?? {};
  } catch {
    d = { body: event.data?.text() };
  }
  const title = d.notification?.title ?? d.title ?? "cityhub";
  const requestId = d.data?.request_id ?? d.request_id;
  event.waitUntil(
    sw.registration.showNotification(title, {
      body: d.notification?.body ?? d.body ?? "",
      icon: "/icons/icon-192.png",
      data: { url: requestId ? `/requests/${requestId}` : "/inbox" },
    }),
  );
});

sw.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data as { url?: string } | null)?.url ?? "/";
  event.waitUntil(sw.clients.openWindow(url));
});
