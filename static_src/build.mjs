// Builds static_src/ into the Django app's static files, which are committed so that
// `pip install` needs no Node. With --check, builds in memory and fails if the committed
// files differ (a stale build).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "django_jobtastic", "static", "django_jobtastic");
const banner = "/* django-jobtastic progress widget. Built from static_src/ by `npm run build`; do not edit. */";

async function bundle() {
  const script = await build({
    entryPoints: [join(root, "static_src", "index.js")],
    bundle: true,
    format: "iife",
    target: ["es2020"],
    write: false,
    legalComments: "none",
    banner: { js: banner },
    logLevel: "warning",
  });
  const style = await build({
    entryPoints: [join(root, "static_src", "jobtastic.css")],
    bundle: true,
    write: false,
    banner: { css: banner },
    logLevel: "warning",
  });
  return {
    "jobtastic.js": script.outputFiles[0].text,
    "jobtastic.css": style.outputFiles[0].text,
  };
}

const outputs = await bundle();
if (process.argv.includes("--check")) {
  const stale = Object.entries(outputs).filter(([name, text]) => {
    try {
      return readFileSync(join(outDir, name), "utf8") !== text;
    } catch {
      return true;
    }
  });
  if (stale.length) {
    console.error(`stale build: ${stale.map(([name]) => name).join(", ")}; run npm run build`);
    process.exit(1);
  }
  console.log("build is fresh");
} else {
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries(outputs)) writeFileSync(join(outDir, name), text);
  console.log(`built ${Object.keys(outputs).join(", ")} into ${outDir}`);
}
