#!/bin/sh
# Makes what a SASL_SSL Ferry listener and its clients need, once (files already there are kept):
# a CA, one broker certificate (PEM keystore: key, then chain) for localhost, 127.0.0.1, broker-1..3
# and any names in FERRY_CERT_NAMES (comma-separated; *.name wildcards allowed), random passwords
# for the users ferry-broker and admin, the brokers' config file (JAAS users, keystore) and client
# configs for the host with Kafka's names (client.properties: ferry --command-config, Kafka tools)
# and librdkafka's (kcat.properties: kcat -F).
#   sh deploy/compose/gen-security.sh OUT_DIR [MOUNT_DIR]
# MOUNT_DIR is where the brokers see OUT_DIR (compose: /security); default OUT_DIR itself.
# compose.sasl-ssl.yaml runs it in a one-shot container; kubernetes-sasl-ssl reuses it.
# Local use only: the client configs hold the admin password and are readable by everyone, so
# that the host's tools can read them from the bind mount.
set -euf
OUT=${1:?usage: gen-security.sh OUT_DIR [MOUNT_DIR]}
MOUNT=${2:-$OUT}
BROKER_UID=${FERRY_UID:-10001}
command -v openssl >/dev/null 2>&1 || apk add --no-cache openssl >/dev/null
mkdir -p "$OUT"
cd "$OUT"
if [ -f broker.properties ] && [ -f broker.keystore.pem ]; then
  echo "gen-security: $OUT already set up; delete it to start over" >&2
  exit 0
fi
umask 077

# CA and broker certificate (EC P-256), valid 825 days.
san="DNS:localhost,IP:127.0.0.1,DNS:broker-1,DNS:broker-2,DNS:broker-3"
for n in $(echo "${FERRY_CERT_NAMES:-}" | tr ',' ' '); do san="$san,DNS:$n"; done
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out ca.key
openssl req -x509 -new -key ca.key -subj "/CN=Ferry local CA" -days 825 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out broker.key
openssl req -new -key broker.key -subj "/CN=ferry-broker" -out broker.csr
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" > broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile broker.ext -out broker.crt
cat broker.key broker.crt ca.crt > broker.keystore.pem
rm -f broker.csr broker.ext broker.key ca.srl

# Users: the brokers' own login (PLAIN over TLS) and the admin; both super users.
broker_pw=$(openssl rand -hex 16)
admin_pw=$(openssl rand -hex 16)
jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"ferry-broker\" password=\"$broker_pw\" user_ferry-broker=\"$broker_pw\" user_admin=\"$admin_pw\";"
cat > broker.properties <<PROPS
# Written by gen-security.sh: the SASL_SSL listener's TLS files and users (docs/configuration.md).
# Listeners themselves come from FERRY_LISTENERS / FERRY_ADVERTISED_LISTENERS.
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
ssl.keystore.type=PEM
ssl.keystore.location=$MOUNT/broker.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$MOUNT/ca.crt
listener.name.sasl_ssl.plain.sasl.jaas.config=$jaas
super.users=User:ferry-broker;User:admin
PROPS
cat > client.properties <<PROPS
# Kafka's names: ferry <command> --command-config $OUT/client.properties -b localhost:19094
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw";
ssl.truststore.type=PEM
ssl.truststore.location=$OUT/ca.crt
PROPS
cat > kcat.properties <<PROPS
# librdkafka's names: kcat -F $OUT/kcat.properties -b localhost:19094 -L
security.protocol=SASL_SSL
sasl.mechanisms=PLAIN
sasl.username=admin
sasl.password=$admin_pw
ssl.ca.location=$OUT/ca.crt
PROPS
printf '%s' "$jaas" > sasl.jaas.config
chmod 0600 ca.key broker.keystore.pem broker.properties sasl.jaas.config
chmod 0644 ca.crt broker.crt client.properties kcat.properties
# The broker (uid 10001 in the image) reads its files; ca.key stays root's.
chown "$BROKER_UID:$BROKER_UID" broker.keystore.pem broker.properties sasl.jaas.config 2>/dev/null || true
echo "gen-security: CA, broker certificate ($san), users ferry-broker and admin written to $OUT" >&2
