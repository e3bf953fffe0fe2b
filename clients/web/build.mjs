// Builds the resident app into dist/: hashed assets, index.html, manifest, icons, sw.js with the
// precache list, and a .gz sibling of every text file. Prints the gzipped size of the main bundle.
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const assets = join(dist, "assets");
const watch = process.argv.includes("--dev");

rmSync(dist, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const hash = (buf) =>
  createHash("sha256").update(buf).digest("hex").slice(0, 10);

// Leaflet's stylesheet is copied hashed and linked by the map chunk when a map is shown.
const leafletCss = readFileSync(
  join(root, "node_modules/leaflet/dist/leaflet.css"),
);
const leafletCssName = `leaflet-${hash(leafletCss)}.css`;
writeFileSync(join(assets, leafletCssName), leafletCss);

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: "src/main.tsx" },
  outdir: assets,
  publicPath: "/assets",
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  sourcemap: false,
  metafile: true,
  legalComments: "none",
  jsx: "automatic",
  jsxImportSource: "preact",
  alias: { "@cityhub/sdk": join(root, "../typescript/src/index.ts") },
  define: { __LEAFLET_CSS__: JSON.stringify(`/assets/${leafletCssName}`) },
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint === "src/main.tsx");
if (!entry) throw new Error("no entry output");
const jsFile = "/" + relative(dist, join(root, entry[0])).split("\\").join("/");
const cssFile = entry[1].cssBundle
  ? "/" + relative(dist, join(root, entry[1].cssBundle))
  : "";

// index.html: the config meta stays exactly <meta name="cityhub-config" content="{}">.
let html = readFileSync(join(root, "src/index.html"), "utf8");
html = html.replace("%JS%", jsFile).replace("%CSS%", cssFile);
if (!html.includes('<meta name="cityhub-config" content="{}">'))
  throw new Error("config meta missing");
writeFileSync(join(dist, "index.html"), html);

copyFileSync(
  join(root, "src/manifest.webmanifest"),
  join(dist, "manifest.webmanifest"),
);
mkdirSync(join(dist, "icons"), { recursive: true });
for (const f of readdirSync(join(root, "public/icons"))) {
  copyFileSync(join(root, "public/icons", f), join(dist, "icons", f));
}

// The service worker precaches the shell: index.html, every hashed asset, manifest and icons.
function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
// The staff console's chunks are not precached: residents never download staff code. They are
// the outputs reachable from the console's entry that the resident app cannot reach without it.
const outputsByPath = result.metafile.outputs;
const staffEntry = outputs.find(
  ([, o]) => o.entryPoint === "src/staff/StaffApp.tsx",
)?.[0];
function reach(from, skip) {
  const seen = new Set();
  const todo = [from];
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p) || p === skip) continue;
    seen.add(p);
    for (const i of outputsByPath[p]?.imports ?? []) todo.push(i.path);
    const css = outputsByPath[p]?.cssBundle;
    if (css) todo.push(css);
  }
  return seen;
}
const resident = reach(entry[0], staffEntry);
const staffOnly = new Set(
  staffEntry
    ? [...reach(staffEntry, undefined)]
        .filter((p) => !resident.has(p))
        .map((p) => "/" + relative(dist, join(root, p)).split("\\").join("/"))
    : [],
);
const precache = walk(dist)
  .map((p) => "/" + relative(dist, p).split("\\").join("/"))
  .filter((p) => p !== "/index.html" && !staffOnly.has(p))
  .sort();
precache.unshift("/index.html");
const version = hash(Buffer.from(precache.join("\n") + html));
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["src/sw/sw.ts"],
  outfile: join(dist, "sw.js"),
  bundle: true,
  format: "iife",
  target: "es2020",
  minify: !watch,
  legalComments: "none",
  define: {
    __PRECACHE__: JSON.stringify(precache),
    __VERSION__: JSON.stringify(version),
  },
  logLevel: "warning",
});

const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const mainGz = gz(jsFile.slice(1)) + (cssFile ? gz(cssFile.slice(1)) : 0);
writeFileSync(
  join(dist, "build-info.json"),
  JSON.stringify(
    { js: jsFile, css: cssFile, main_gzip_bytes: mainGz, precache },
    null,
    2,
  ) + "\n",
);

// A .gz sibling of every text file (the gateway serves it to clients that accept gzip).
const text = /\.(html|js|mjs|css|json|webmanifest|svg|txt|map)$/;
for (const p of walk(dist)) {
  if (text.test(p))
    writeFileSync(p + ".gz", gzipSync(readFileSync(p), { level: 9 }));
}

const size = (f) => statSync(join(dist, f)).size;
const kb = (n) => (n / 1024).toFixed(1) + " KiB";
const rows = walk(dist)
  .filter((p) => /\.(js|css)$/.test(p))
  .map((p) => relative(dist, p))
  .sort();
console.log("dist/ written:");
for (const f of rows)
  console.log(
    `  ${f.padEnd(44)} ${kb(size(f)).padStart(10)}  gzip ${kb(size(f + ".gz"))}`,
  );
console.log(`main bundle (app js + css), gzipped: ${kb(mainGz)}`);
