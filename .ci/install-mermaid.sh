#!/usr/bin/env bash
# Install Mermaid's own parser (npm `mermaid`, with `jsdom` for the DOM it expects), for the
# check that `twideploy graph --format mermaid` and the plans' pictures are valid Mermaid
# (tests/graph/), and print the folder:
#
#     TWIDEPLOY_MERMAID_DIR="$(bash .ci/install-mermaid.sh)"
#
# The versions are pinned in tests/graph/package.json and package-lock.json; see npm-ci.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/npm-ci.sh" tests/graph mermaid mermaid
