#!/bin/sh
# Debian's Chromium and CJK fonts for the browser tests (tests/browser).
#
# Idempotent and quiet: does nothing when both are installed. Otherwise installs them with
# apt-get when running as root on a system that has it; if it cannot, it says why and exits 0,
# and the browser tests skip (the rest of the suite still runs).
# Playwright's own browser download is not used: the tests drive /usr/bin/chromium.
set -u

PACKAGES="chromium fonts-noto-cjk fonts-liberation"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ] && [ -x /usr/bin/chromium ]; then
    exit 0
fi

say() { echo "install-chromium: $*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here (not Debian?): install Chromium yourself and set CHROMIUM=/path/to/chromium;"
    say "the browser tests skip until then."
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "missing:$missing; not root, so not installing. Run: sudo apt-get install -y$missing"
    say "the browser tests skip until then."
    exit 0
fi

say "installing$missing (Debian packages) ..."
log="${TMPDIR:-/tmp}/install-chromium.$$.log"
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1; then
    rm -f "$log"
    say "done: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
else
    say "apt-get failed; the browser tests will skip. Last lines of $log:"
    tail -n 15 "$log" >&2
fi
exit 0
