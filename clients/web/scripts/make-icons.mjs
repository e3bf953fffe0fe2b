// Writes the app icons (PNG, 192 and 512 px, plain and maskable) into public/icons/.
// Run once; the results are committed. No image library: a PNG writer on node:zlib.
import { mkdirSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x + 0.5, y + 0.5);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
      raw[o + 3] = a;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const BLUE = [11, 83, 148, 255];
const WHITE = [255, 255, 255, 255];
const CLEAR = [0, 0, 0, 0];

// A map pin: a white disc with a blue hole above a white point, on blue.
function icon(size, scale, rounded) {
  return (x, y) => {
    const u = (x / size - 0.5) / scale;
    const v = (y / size - 0.5) / scale;
    if (rounded) {
      const r = 0.18 / scale;
      const ax = Math.max(Math.abs(x / size - 0.5) - (0.5 - r), 0);
      const ay = Math.max(Math.abs(y / size - 0.5) - (0.5 - r), 0);
      if (ax * ax + ay * ay > r * r) return CLEAR;
    }
    const cy = -0.08;
    const d = Math.hypot(u, v - cy);
    if (d < 0.09) return BLUE;
    if (d < 0.24) return WHITE;
    // the point: a triangle under the disc
    if (v > cy && v < 0.36) {
      const half = 0.2 * (1 - (v - cy) / (0.36 - cy));
      if (Math.abs(u) < half) return WHITE;
    }
    return BLUE;
  };
}

mkdirSync("public/icons", { recursive: true });
for (const size of [192, 512]) {
  writeFileSync(
    `public/icons/icon-${size}.png`,
    png(size, icon(size, 1, true)),
  );
  writeFileSync(
    `public/icons/icon-maskable-${size}.png`,
    png(size, icon(size, 0.8, false)),
  );
}
console.log("icons written to public/icons/");
