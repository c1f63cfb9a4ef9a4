#!/usr/bin/env bash
# Installs the Debian packages cdlt needs to build, test and run its demo.
# Idempotent: when every package is already installed it returns at once without touching apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  clang clang-format libclang-rt-14-dev
  libfmt-dev libtomlplusplus-dev libcli11-dev libsimdjson-dev nlohmann-json3-dev
  libzstd-dev zlib1g-dev libssl-dev libpq-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql postgresql-client
  time
)
# Node's npm fetches the pinned DuckDB build; nodesource's nodejs ships npm itself and conflicts
# with Debian's npm package, so npm is only requested when no npm is on the PATH.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
