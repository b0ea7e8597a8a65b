// Parse Mermaid diagrams with Mermaid's own parser: `node mermaid_parse.mjs NODE_MODULES FILE...`.
// Prints one JSON line per file, {"file": ..., "ok": true, "type": "flowchart-v2"} or
// {"file": ..., "ok": false, "error": "..."}. Mermaid expects a browser DOM (DOMPurify), which
// jsdom provides; parsing needs no layout, so nothing is rendered here.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [folder, ...files] = process.argv.slice(2);
const modules = resolve(folder);
const require = createRequire(join(modules, "noop.js"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const entry = join(modules, "mermaid", "dist", "mermaid.core.mjs");
const mermaid = (await import(pathToFileURL(entry).href)).default;
mermaid.initialize({ startOnLoad: false });

let failed = false;
for (const file of files) {
  try {
    const result = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(JSON.stringify({ file, ok: true, type: result.diagramType }));
  } catch (error) {
    failed = true;
    console.log(JSON.stringify({ file, ok: false, error: String(error && error.message || error) }));
  }
}
process.exit(failed ? 1 : 0);
