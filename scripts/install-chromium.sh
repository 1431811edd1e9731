#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (tests/E2E.Tests run it headless through Playwright).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root, or sudo without a password prompt.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
  as_root=(sudo -n)
else
  echo "chromium is not installed and this user cannot install it: run 'apt-get install -y chromium' as root, or run as root / with password-less sudo." >&2
  exit 1
fi

if ! command -v apt-get > /dev/null; then
  echo "chromium is not installed and apt-get is missing: install chromium so that /usr/bin/chromium exists." >&2
  exit 1
fi

# Concurrent test runs may both try: apt-get waits for the other's dpkg lock instead of failing.
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium

if [ ! -x /usr/bin/chromium ]; then
  echo "apt-get finished but /usr/bin/chromium is missing." >&2
  exit 1
fi
