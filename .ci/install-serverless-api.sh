#!/usr/bin/env bash
# Install Twilio's own Node Serverless client, @twilio-labs/serverless-api (the library behind
# `twilio serverless:deploy`), for the conformance test tests/conformance/, and print the folder:
#
#     TWIDEPLOY_SERVERLESS_API_DIR="$(bash .ci/install-serverless-api.sh)"
#
# The version is pinned in tests/conformance/package.json and package-lock.json; see npm-ci.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/npm-ci.sh" tests/conformance serverless-api @twilio-labs/serverless-api
