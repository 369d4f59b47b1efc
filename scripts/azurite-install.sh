#!/usr/bin/env bash
# Installs Azurite (Azure Storage emulator, npm) and a Node 22 binary (npm package `node`) into
# a tools directory outside the project's node_modules, for the azure-blob ObjectStore tests.
# Azurite declares Node >= 22, so it runs on that Node whatever the machine's Node is.
# Also the Azure SDK packages the store uses (@azure/storage-blob, @azure/identity, at the
# versions of package-lock.json) in DIR/azure-sdk: they are optional dependencies of Ferry that
# npm installs on Node >= 22 only, so on Node 20 the tests load them from there
# (test/helpers/optional-deps.mjs, which scripts/run-tests.mjs loads).
#   scripts/azurite-install.sh [DIR]     (default: $FERRY_TOOLS_DIR or /opt/ferry-tools)
# Prints the tools directory on success. Safe to run again.
set -euo pipefail
DIR="${1:-${FERRY_TOOLS_DIR:-/opt/ferry-tools}}"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
NODE_PACKAGE_VERSION="${NODE_PACKAGE_VERSION:-22}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
locked() { node -p "require('$ROOT/package-lock.json').packages['node_modules/$1'].version"; }
SDK=("@azure/storage-blob@$(locked @azure/storage-blob)" "@azure/identity@$(locked @azure/identity)")

mkdir -p "$DIR/azure-sdk"
cd "$DIR"
[ -f package.json ] || echo '{"name":"ferry-test-tools","private":true}' > package.json
if ! [ -x node_modules/.bin/node ] || ! [ -x node_modules/.bin/azurite-blob ]; then
  # The node package's install script only picks the platform binary; Linux x64 works without it.
  npm install --no-audit --no-fund --loglevel=error "node@${NODE_PACKAGE_VERSION}" "azurite@${AZURITE_VERSION}" >&2
  "$DIR/node_modules/.bin/node" --version >&2
fi
cd "$DIR/azure-sdk"
[ -f package.json ] || echo '{"name":"ferry-test-azure-sdk","private":true}' > package.json
want="$(printf '%s\n' "${SDK[@]}")"
if [ "$(cat installed 2>/dev/null)" != "$want" ]; then
  # Regular dependencies here, so npm installs them whatever the Node (it warns EBADENGINE on 20).
  npm install --no-audit --no-fund --loglevel=error "${SDK[@]}" >&2
  printf '%s\n' "$want" > installed
fi
echo "$DIR"
