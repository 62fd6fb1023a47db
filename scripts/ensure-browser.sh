#!/usr/bin/env bash
# Make sure kaleido finds a Chromium-based browser. Charts are optional for a run (it still
# succeeds without them), so this only installs where it can: as root with apt-get.
set -euo pipefail
if [ -n "${BROWSER_PATH:-}" ] && [ -x "${BROWSER_PATH}" ]; then exit 0; fi
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for chart rendering (kaleido)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "note: no Chromium found and cannot install it here; runs will skip the PNG charts." >&2
echo "      Install chromium (or set BROWSER_PATH) to get them." >&2
