#!/usr/bin/env bash
# Install Twilio's own Node Serverless client, @twilio-labs/serverless-api (the library behind
# `twilio serverless:deploy`), for the conformance test tests/conformance/, and print the folder:
#
#     TWIDEPLOY_SERVERLESS_API_DIR="$(bash .ci/install-serverless-api.sh)"
#
# The version is pinned in tests/conformance/package.json and every dependency in its
# package-lock.json; `npm ci` installs exactly that into .ci/tools/serverless-api/
# (git-ignored). Idempotent: when the last successful install was of the committed lock file,
# a second run installs nothing. Progress goes to stderr; stdout is only the folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$here/../tests/conformance"
target="${TWIDEPLOY_CI_TOOLS:-$here/tools}/serverless-api"
package="@twilio-labs/serverless-api"

log() { echo "install-serverless-api: $*" >&2; }

command -v node >/dev/null 2>&1 || { log "error: node is needed to run $package"; exit 1; }
command -v npm >/dev/null 2>&1 || { log "error: npm is needed to install $package"; exit 1; }

# A copy of the lock file is written only once `npm ci` has succeeded, so an interrupted
# install is redone.
installed="$target/installed-package-lock.json"
if ! cmp -s "$source_dir/package-lock.json" "$installed"; then
  log "npm ci $package (tests/conformance/package-lock.json) into $target"
  mkdir -p "$target"
  rm -f "$installed"
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
  npm ci --prefix "$target" --no-audit --no-fund --loglevel=error >&2
  cp "$source_dir/package-lock.json" "$installed"
fi

log "$package $(node -p "require('$target/node_modules/$package/package.json').version")"
echo "$target"
