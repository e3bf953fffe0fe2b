import { client, isNetworkError, signedIn } from "./api";
import { errorStatus } from "./api";
import { createStore } from "./store";
import type { CreateRequestBody, ServiceRequest } from "./types";

// Reports made without network wait here (IndexedDB) with their idempotency key and photos, and
// are sent when the network returns: at start and on the `online` event. The key makes a repeat
// after a lost answer harmless, so every report is created exactly once.

export interface Photo {
  blob: Blob;
  type: string;
}

export interface QueuedReport {
  key: string;
  body: CreateRequestBody;
  photos: Photo[];
  queued_at: number;
}

const DB = "cityhub";
const STORE = "outbox";

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) {
        req.result.createObjectStore(STORE, { keyPath: "key" });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(
  mode: IDBTransactionMode,
  fn: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

/** How many reports wait on this device. */
export const outboxCount = createStore(0);
/** The last report the outbox sent (screens show it). */
export const outboxSent = createStore<ServiceRequest | null>(null);

export async function listOutbox(): Promise<QueuedReport[]> {
  const all = await tx<QueuedReport[]>(
    "readonly",
    (s) => s.getAll() as IDBRequest<QueuedReport[]>,
  );
  outboxCount.set(all.length);
  return all.sort((a, b) => a.queued_at - b.queued_at);
}

export async function enqueue(report: QueuedReport): Promise<void> {
  await tx("readwrite", (s) => s.put(report));
  await listOutbox();
}

async function remove(key: string): Promise<void> {
  await tx("readwrite", (s) => s.delete(key));
}

export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Uploads the photos, then files the request under the given idempotency key. */
export async function submitReport(
  key: string,
  body: CreateRequestBody,
  photos: Photo[],
  onProgress?: (
    photo: number,
    total: number,
    sent: number,
    size: number,
  ) => void,
): Promise<ServiceRequest> {
  const media_ids: string[] = [];
  for (let i = 0; i < photos.length; i++) {
    const m = await client.media.upload(photos[i].blob, photos[i].type, {
      onProgress: (sent, size) =>
        onProgress?.(i + 1, photos.length, sent, size),
    });
    media_ids.push(m.media_id ?? "");
  }
  const full = {
    ...body,
    media_ids: [...(body.media_ids ?? []), ...media_ids],
  };
  return (await client.requests.create(full, {
    idempotencyKey: key,
  })) as ServiceRequest;
}

let flushing: Promise<void> | null = null;

/** Sends every queued report once; one flush at a time (also across tabs, where supported). */
export function flushOutbox(): Promise<void> {
  if (!flushing) {
    flushing = withLock(flushNow).finally(() => {
      flushing = null;
    });
  }
  return flushing;
}

async function withLock(fn: () => Promise<void>): Promise<void> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks?.request) await locks.request("cityhub-outbox", fn);
  else await fn();
}

async function flushNow(): Promise<void> {
  let queued: QueuedReport[];
  try {
    queued = await listOutbox();
  } catch {
    return;
  }
  for (const q of queued) {
    if (navigator.onLine === false) return;
    try {
      const created = await submitReport(q.key, q.body, q.photos);
      await remove(q.key);
      outboxSent.set(created);
    } catch (e) {
      const status = errorStatus(e);
      // Network trouble, throttling, a server problem, or a session that ended while offline
      // (sent again after the next sign-in): try again later.
      if (
        isNetworkError(e) ||
        status === 401 ||
        status === 429 ||
        status >= 500
      )
        return;
      console.warn("cityhub: a queued report was refused and is dropped", e);
      await remove(q.key); // refused for good (e.g. the category was closed): do not loop
    }
  }
  await listOutbox();
}

export function startOutbox() {
  window.addEventListener("online", () => void flushOutbox());
  signedIn.subscribe((v) => v && void flushOutbox());
  void flushOutbox();
}
