// Prints the size of dist/index.js with its imports, bundled and minified (esbuild), raw and gzipped.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = await build({
  entryPoints: [join(pkg, "dist/index.js")], // after `tsc` (npm run size builds first)
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  write: false,
});
const code = out.outputFiles[0].contents;
console.log(
  `@cityhub/sdk bundled+minified: ${code.length} bytes, gzipped: ${gzipSync(code, { level: 9 }).length} bytes`,
);
