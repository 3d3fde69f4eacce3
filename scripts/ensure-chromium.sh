#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core. Install it from the
# distribution when it is missing; never let a tool download a browser build of its own.
set -euo pipefail
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo present at "$CHROMIUM")"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing at $CHROMIUM: install Debian's 'chromium' package (needs root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
if [ ! -x "$CHROMIUM" ]; then
  echo "chromium: installed, but nothing is at $CHROMIUM (set CHROMIUM_PATH)" >&2
  exit 1
fi
echo "chromium: $("$CHROMIUM" --version 2>/dev/null)"
