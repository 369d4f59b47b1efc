#!/usr/bin/env python3
"""Connects to a SASL listener with confluent-kafka (librdkafka) or kafka-python and lists the
cluster, for each case given; prints one JSON line: a list of {"ok": true, "cluster": ..., "listings": N}
or {"ok": false, "error": ...}.

usage: sasl_client.py ck|kp BOOTSTRAP CASES_JSON
  CASES_JSON: [{"mechanism": M, "user": U, "secret": S, "seconds": N}, ...]. S is the password or,
  for OAUTHBEARER, the principal of an unsecured token (ck: librdkafka builds it; kp: a token
  provider hands it over). With "seconds" the cluster is listed again and again that long
  (re-authentication tests); "listings" counts the successful ones.
"""
import base64
import json
import sys
import time

TIMEOUT_S = 4


def unsecured_jws(sub, lifetime=600):
    b64 = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b'=').decode()
    now = int(time.time())
    return '%s.%s.' % (b64({'alg': 'none'}), b64({'sub': sub, 'iat': now, 'exp': now + lifetime}))


def with_confluent_kafka(bootstrap, c):
    from confluent_kafka.admin import AdminClient
    conf = {'bootstrap.servers': bootstrap, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': c['mechanism']}
    if c['mechanism'] == 'OAUTHBEARER':
        conf.update({'enable.sasl.oauthbearer.unsecure.jwt': True, 'sasl.oauthbearer.config': 'principal=%s' % c['secret']})
    else:
        conf.update({'sasl.username': c['user'], 'sasl.password': c['secret']})
    errors = []
    conf['error_cb'] = lambda e: errors.append(str(e))
    admin = AdminClient(conf)
    try:
        md = admin.list_topics(timeout=TIMEOUT_S)
    except Exception as e:  # KafkaException after the timeout
        admin.poll(0.5)  # serves error_cb: librdkafka's reason (the broker's SASL message)
        return {'ok': False, 'error': '; '.join(errors + [str(e)])}
    n, failed = 1, 0
    end = time.time() + c.get('seconds', 0)
    while time.time() < end:
        try:
            admin.list_topics(timeout=TIMEOUT_S)
            n += 1
        except Exception:
            failed += 1
        time.sleep(0.1)
    return {'ok': True, 'cluster': md.cluster_id, 'listings': n, 'failed': failed}


class TokenProvider:
    def __init__(self, sub):
        self.sub = sub

    def token(self):
        return unsecured_jws(self.sub)


def with_kafka_python(bootstrap, c):
    from kafka import KafkaAdminClient
    conf = {'bootstrap_servers': bootstrap, 'security_protocol': 'SASL_PLAINTEXT', 'sasl_mechanism': c['mechanism'],
            'request_timeout_ms': TIMEOUT_S * 1000, 'api_version_auto_timeout_ms': TIMEOUT_S * 1000}
    if c['mechanism'] == 'OAUTHBEARER':
        conf['sasl_oauth_token_provider'] = TokenProvider(c['secret'])
    else:
        conf.update({'sasl_plain_username': c['user'], 'sasl_plain_password': c['secret']})
    try:
        admin = KafkaAdminClient(**conf)
        cluster = admin.describe_cluster()
    except Exception as e:
        return {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
    admin.close()
    return {'ok': True, 'cluster': cluster.get('cluster_id'), 'listings': 1}


def main():
    lib, bootstrap, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    run = with_confluent_kafka if lib == 'ck' else with_kafka_python
    print(json.dumps([run(bootstrap, c) for c in cases]), flush=True)


if __name__ == '__main__':
    main()
