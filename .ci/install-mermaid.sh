#!/usr/bin/env bash
# Install Mermaid's own parser (npm `mermaid`, with `jsdom` for the DOM it expects), for the
# check that `twideploy graph --format mermaid` and the plans' pictures are valid Mermaid
# (tests/graph/), and print the folder:
#
#     TWIDEPLOY_MERMAID_DIR="$(bash .ci/install-mermaid.sh)"
#
# The versions are pinned in tests/graph/package.json and every dependency in its
# package-lock.json; `npm ci` installs exactly that into .ci/tools/mermaid/ (git-ignored).
# Idempotent: when the last successful install was of the committed lock file, a second run
# installs nothing. Progress goes to stderr; stdout is only the folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$here/../tests/graph"
target="${TWIDEPLOY_CI_TOOLS:-$here/tools}/mermaid"

log() { echo "install-mermaid: $*" >&2; }

command -v node >/dev/null 2>&1 || { log "error: node is needed to run mermaid"; exit 1; }
command -v npm >/dev/null 2>&1 || { log "error: npm is needed to install mermaid"; exit 1; }

# A copy of the lock file is written only once `npm ci` has succeeded, so an interrupted
# install is redone.
installed="$target/installed-package-lock.json"
if ! cmp -s "$source_dir/package-lock.json" "$installed"; then
  log "npm ci mermaid (tests/graph/package-lock.json) into $target"
  mkdir -p "$target"
  rm -f "$installed"
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
  npm ci --prefix "$target" --no-audit --no-fund --loglevel=error >&2
  cp "$source_dir/package-lock.json" "$installed"
fi

log "mermaid $(node -p "require('$target/node_modules/mermaid/package.json').version")"
echo "$target"
