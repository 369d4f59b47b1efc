#!/usr/bin/env bash
# Installs Azurite (Azure Storage emulator, npm) and a Node 22 binary (npm package `node`) into
# a tools directory outside the project's node_modules, for the azure-blob ObjectStore tests.
# Azurite declares Node >= 22, so it runs on that Node whatever the machine's Node is.
#   scripts/azurite-install.sh [DIR]     (default: $FERRY_TOOLS_DIR or /opt/ferry-tools)
# Prints the tools directory on success. Safe to run again.
set -euo pipefail
DIR="${1:-${FERRY_TOOLS_DIR:-/opt/ferry-tools}}"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
NODE_PACKAGE_VERSION="${NODE_PACKAGE_VERSION:-22}"

mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"ferry-test-tools","private":true}' > package.json
if [ -x node_modules/.bin/node ] && [ -x node_modules/.bin/azurite-blob ]; then
  echo "$DIR"
  exit 0
fi
# The node package's install script only picks the platform binary; Linux x64 works without it.
npm install --no-audit --no-fund --loglevel=error "node@${NODE_PACKAGE_VERSION}" "azurite@${AZURITE_VERSION}" >&2
"$DIR/node_modules/.bin/node" --version >&2
echo "$DIR"
