#!/usr/bin/env bash
# Runs the project's whole test suite, as the README says: `cargo xtask test`.
# xtask installs what the tests need (nightly rust-src/miri, QEMU) itself.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
    # rustup installs cargo under ~/.cargo/bin, which a non-login shell may miss.
    export PATH="$HOME/.cargo/bin:$PATH"
fi
# Give up long before CI's 90-minute limit if something hangs.
exec timeout --kill-after=60 45m cargo xtask test
