#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite through
# ctest, then installs the Debian packages and removes them again. Runs as
# root: the integration tests mount small tmpfs filesystems and fill them up.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
ctest --preset release --output-on-failure -j 2
# Installs the Debian packages on this machine, checks them and purges them.
bash scripts/package.sh --install-test build/release
