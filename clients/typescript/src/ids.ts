// Random ids for Idempotency-Key: crypto.randomUUID where there is one (browsers, Node >= 19),
// node:crypto on Node 18 (no global crypto without a flag there).

interface CryptoLike {
  randomUUID?: () => string;
  getRandomValues?: (a: Uint8Array) => Uint8Array;
}

/** A random UUID (version 4). */
export async function randomId(): Promise<string> {
  const c = (globalThis as { crypto?: CryptoLike }).crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof c?.getRandomValues === "function") {
    c.getRandomValues(bytes);
  } else {
    const nodeCrypto = await loadNodeCrypto();
    if (nodeCrypto !== null) return nodeCrypto.randomUUID();
    for (let i = 0; i < bytes.length; i++)
      bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function loadNodeCrypto(): Promise<{ randomUUID: () => string } | null> {
  // A computed specifier keeps bundlers for browsers from trying to resolve it.
  const name = ["node", "crypto"].join(":");
  try {
    const m = (await import(/* @vite-ignore */ name)) as {
      randomUUID?: () => string;
    };
    return typeof m.randomUUID === "function"
      ? { randomUUID: m.randomUUID }
      : null;
  } catch {
    return null;
  }
}
