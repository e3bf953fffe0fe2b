import type { Photo } from "../../lib/outbox";

const MAX_SIDE = 2560;
const KEEP_BELOW = 4 * 1024 * 1024;

/**
 * Phone photos are redrawn upright (the server strips the Exif orientation tag) and no larger than
 * 2560 px a side, as JPEG; small PNG/WebP images stay as they are.
 */
export async function preparePhoto(file: File): Promise<Photo> {
  const original = { blob: file as Blob, type: file.type };
  if (typeof createImageBitmap !== "function") return original;
  try {
    const bmp = await createImageBitmap(file, {
      imageOrientation: "from-image",
    });
    const scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
    if (file.type !== "image/jpeg" && scale === 1 && file.size < KEEP_BELOW) {
      bmp.close();
      return original;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bmp.width * scale));
    canvas.height = Math.max(1, Math.round(bmp.height * scale));
    const ctx = canvas.getContext("2d");
    if (!ctx) return original;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    const blob = await new Promise<Blob | null>((r) =>
      canvas.toBlob(r, "image/jpeg", 0.85),
    );
    return blob ? { blob, type: "image/jpeg" } : original;
  } catch {
    return original;
  }
}
