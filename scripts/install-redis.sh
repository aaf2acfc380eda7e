#!/usr/bin/env bash
# Makes `redis-server` and `redis-cli` available for the Redis rotation test
# (test/data-stores/redis-failover-rotation.test.ts), which starts a real Redis and Sentinel on
# loopback from the rendered configuration. Starts no service.
#
# Idempotent: does nothing when both are on PATH or in .tools/bin. Otherwise installs Debian's
# `redis-tools` (the binaries, without the packaged service) and links `redis-server` to it in
# .tools/bin: Redis picks server mode from the name it is started as, as Debian's own link does.
# Needs apt (Debian/Ubuntu) and root or sudo; elsewhere install Redis ≥ 7 with your package manager.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
export PATH="$BIN:$PATH"

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  echo "redis: $(command -v redis-server) ($(redis-server --version | head -n 1))"
  exit 0
fi
if ! command -v redis-check-rdb >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-redis: apt-get not found; install Redis >= 7 (redis-server, redis-cli) and put it on PATH" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  if ! apt-cache show redis-tools >/dev/null 2>&1; then $SUDO apt-get update -qq; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-tools >/dev/null
fi
mkdir -p "$BIN"
ln -sf "$(command -v redis-check-rdb)" "$BIN/redis-server"
echo "redis: $BIN/redis-server ($("$BIN/redis-server" --version | head -n 1))"
