#!/usr/bin/env bash
# Register secret values, and values derived from them, with the runner's log masking.
#
#     mask-secrets.sh [VAR_NAME...]
#
# Masks the Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_API_KEY, TWILIO_API_SECRET,
# TWILIO_AUTH_TOKEN), every variable named in TWIDEPLOY_MASK_VARS (space or comma separated,
# e.g. "CRM_TOKEN") and every VAR_NAME given. GitHub masks `secrets.*` it substitutes
# itself, but not what is derived from them: each line of a multi-line value, and the
# HTTP Basic credentials (base64 of KEY:SECRET) the Twilio SDK sends and debug logs print.
# Prints only `::add-mask::` commands; the values themselves never appear otherwise.
set -euo pipefail

names=(TWILIO_ACCOUNT_SID TWILIO_API_KEY TWILIO_API_SECRET TWILIO_AUTH_TOKEN)
extra_names="${TWIDEPLOY_MASK_VARS-}"
read -r -a extra <<< "${extra_names//,/ }" || true
names+=("${extra[@]}" "$@")

mask() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    if [ -n "$line" ]; then echo "::add-mask::$line"; fi
  done <<< "$1"
}

for name in "${names[@]}"; do
  if [[ ! "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "mask-secrets: ignoring invalid variable name '$name'" >&2
    continue
  fi
  value="${!name-}"
  if [ -n "$value" ]; then mask "$value"; fi
done

basic() { printf '%s:%s' "$1" "$2" | base64 | tr -d '\n'; }
if [ -n "${TWILIO_API_KEY-}" ] && [ -n "${TWILIO_API_SECRET-}" ]; then
  mask "$(basic "$TWILIO_API_KEY" "$TWILIO_API_SECRET")"
fi
if [ -n "${TWILIO_ACCOUNT_SID-}" ] && [ -n "${TWILIO_AUTH_TOKEN-}" ]; then
  mask "$(basic "$TWILIO_ACCOUNT_SID" "$TWILIO_AUTH_TOKEN")"
fi
