#!/usr/bin/env bash
# Install a pinned npm package and its locked dependencies into a git-ignored tools folder, and
# print the folder. Used by install-serverless-api.sh and install-mermaid.sh:
#
#     bash .ci/npm-ci.sh tests/graph mermaid mermaid
#
# Arguments: the folder (from the repository root) holding package.json and package-lock.json,
# the name of the folder under .ci/tools/ (or $TWIDEPLOY_CI_TOOLS) to install into, and the
# package whose version to report. `npm ci` installs exactly the lock file. Idempotent: when the
# last successful install was of the committed lock file, a second run installs nothing.
# Progress goes to stderr; stdout is only the folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$here/../$1"
name="$2"
target="${TWIDEPLOY_CI_TOOLS:-$here/tools}/$name"
package="$3"

log() { echo "install-$name: $*" >&2; }

command -v node >/dev/null 2>&1 || { log "error: node is needed to run $package"; exit 1; }
command -v npm >/dev/null 2>&1 || { log "error: npm is needed to install $package"; exit 1; }

# A copy of the lock file is written only once `npm ci` has succeeded, so an interrupted
# install is redone.
installed="$target/installed-package-lock.json"
if ! cmp -s "$source_dir/package-lock.json" "$installed"; then
  log "npm ci $package ($1/package-lock.json) into $target"
  mkdir -p "$target"
  rm -f "$installed"
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
  npm ci --prefix "$target" --no-audit --no-fund --loglevel=error >&2
  cp "$source_dir/package-lock.json" "$installed"
fi

log "$package $(node -p "require('$target/node_modules/$package/package.json').version")"
echo "$target"
