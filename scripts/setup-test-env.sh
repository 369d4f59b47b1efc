#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine with Node and npm (as root, or with
# sudo): the real components the tests drive, from Debian's packages, then the npm dependencies,
# then the test tools kept outside node_modules. Safe to run again: what is there is skipped.
#
#   bash scripts/setup-test-env.sh && npm test        (the README's test command)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  # Real Kafka clients: kcat, confluent-kafka-python (librdkafka), kafka-python
  kcat python3-confluent-kafka python3-kafka
  # confluent-kafka-python's JSON Schema and Protobuf serializers (schema registry tests)
  python3-jsonschema python3-protobuf
  # Other implementations of the batch codecs (the compression tests read and write their data)
  gzip zstd lz4 python3-snappy python3-lz4
  # Real etcd, and Ceph's S3 gateway (radosgw) for the object store tests
  etcd-server ceph-mon ceph-osd radosgw ceph-common
  # node-gyp builds (fs-ext; node-rdkafka builds its bundled librdkafka)
  build-essential python3 libssl-dev zlib1g-dev libzstd-dev
  # Deploy checks: hclfmt from Debian's HCL library, systemd-analyze; WAL checks: losetup, chattr
  golang-go golang-github-hashicorp-hcl-v2-dev systemd util-linux e2fsprogs curl
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund --loglevel=error </dev/null

# Azurite (and the Node 22 it needs) and hclfmt live in a tools directory outside the project.
bash scripts/azurite-install.sh >/dev/null
bash scripts/hclfmt-build.sh >/dev/null
echo "setup: done"
