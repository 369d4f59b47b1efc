#!/usr/bin/env bash
# Builds `hclfmt` (HashiCorp's HCL formatter, from Debian's packaged HCL v2 library) so the
# deploy tests can check the Terraform files' formatting without Terraform.
#   scripts/hclfmt-build.sh [OUT]     (default: $FERRY_TOOLS_DIR/hclfmt, FERRY_TOOLS_DIR=/opt/ferry-tools)
# Needs apt (root or sudo) the first time: golang-go golang-github-hashicorp-hcl-v2-dev.
# Prints the binary's path on success. Safe to run again.
set -euo pipefail
OUT="${1:-${FERRY_TOOLS_DIR:-/opt/ferry-tools}/hclfmt}"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi

need=()
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/hashicorp/hcl/v2/cmd/hclfmt ] || need+=(golang-github-hashicorp-hcl-v2-dev)
if ((${#need[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || {
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  }
fi
mkdir -p "$(dirname "$OUT")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Debian ships the library as GOPATH sources; build in GOPATH mode, offline.
(cd "$tmp" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$tmp/cache" GOFLAGS= go build -o "$OUT" github.com/hashicorp/hcl/v2/cmd/hclfmt) >&2
echo "$OUT"
