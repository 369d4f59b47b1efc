#!/usr/bin/python3
"""Produce and consume back over a secured listener with a real Python client, for
test/security/client-matrix.test.ts.

  secure_client.py ck|kp --bootstrap H:P --topic T --count N --config '{"security.protocol": ...}'

ck: confluent-kafka (librdkafka); the config is librdkafka properties as-is.
kp: kafka-python; the config uses kafka-python's argument names (security_protocol, ssl_cafile, ...).
Prints one JSON object: {"ok": true, "acked": n, "consumed": n, "offsets": [...]} or {"ok": false, "error": "..."}.
"""
import argparse
import json
import sys
import time


def value(i):
    return b'secure-%d-' % i + bytes((i * 13 + j) % 256 for j in range(i % 97))


def run_ck(a, conf):
    from confluent_kafka import Consumer, KafkaException, Producer
    errors = []
    p = Producer({'bootstrap.servers': a.bootstrap, 'acks': 'all', 'enable.idempotence': True,
                  'message.timeout.ms': 15000, 'socket.timeout.ms': 10000, 'error_cb': lambda e: errors.append(str(e)), **conf})
    acked = []

    def cb(err, msg):
        if err is None:
            acked.append(msg.offset())
        else:
            errors.append(str(err))
    for i in range(a.count):
        p.produce(a.topic, key=b'%d' % i, value=value(i), on_delivery=cb)
        p.poll(0)
    left = p.flush(20)
    if left or len(acked) != a.count:
        return {'ok': False, 'error': '; '.join(dict.fromkeys(errors)) or 'not delivered', 'acked': len(acked)}
    c = Consumer({'bootstrap.servers': a.bootstrap, 'group.id': a.topic + '-g', 'auto.offset.reset': 'earliest',
                  'enable.auto.commit': False, 'error_cb': lambda e: errors.append(str(e)), **conf})
    c.subscribe([a.topic])
    got = {}
    deadline = time.time() + 30
    while len(got) < a.count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        i = int(m.key())
        if m.value() != value(i):
            return {'ok': False, 'error': 'value mismatch at %d' % i}
        got[i] = m.offset()
    c.commit(asynchronous=False) if got else None
    c.close()
    return {'ok': len(got) == a.count, 'acked': len(acked), 'consumed': len(got),
            'offsets': sorted(got.values())[:3], 'error': '; '.join(dict.fromkeys(errors))}


def run_ck_txn(a, conf):
    from confluent_kafka import Consumer, Producer
    errors = []
    p = Producer({'bootstrap.servers': a.bootstrap, 'transactional.id': a.transactional_id,
                  'error_cb': lambda e: errors.append(str(e)), **conf})
    try:
        p.init_transactions(20)
        p.begin_transaction()
        for i in range(a.count):
            p.produce(a.topic, key=b'tx%d' % i, value=value(i), partition=i % 3)
        p.commit_transaction(30)
    except Exception as e:  # noqa: BLE001 - the test reads the error text
        return {'ok': False, 'error': '%s; %s' % (e, '; '.join(dict.fromkeys(errors)))}
    c = Consumer({'bootstrap.servers': a.bootstrap, 'group.id': a.topic + '-txn-g', 'auto.offset.reset': 'earliest',
                  'enable.auto.commit': False, 'isolation.level': 'read_committed', **conf})
    c.subscribe([a.topic])
    got = set()
    deadline = time.time() + 30
    while len(got) < a.count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        if m.key().startswith(b'tx'):
            got.add(m.key())
    c.close()
    return {'ok': len(got) == a.count, 'committedRead': len(got), 'error': '; '.join(dict.fromkeys(errors))}


def run_kp(a, conf):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import KafkaError
    try:
        p = KafkaProducer(bootstrap_servers=a.bootstrap, acks='all', request_timeout_ms=15000, **conf)
        futures = [p.send(a.topic, key=b'%d' % i, value=value(i)) for i in range(a.count)]
        p.flush(20)
        acked = [f.get(timeout=20).offset for f in futures]
        p.close()
        c = KafkaConsumer(a.topic, bootstrap_servers=a.bootstrap, auto_offset_reset='earliest', enable_auto_commit=False,
                          group_id=None, consumer_timeout_ms=5000, **conf)
        got = {}
        deadline = time.time() + 30
        while len(got) < a.count and time.time() < deadline:
            for m in c:
                i = int(m.key)
                if m.value != value(i):
                    return {'ok': False, 'error': 'value mismatch at %d' % i}
                got[i] = m.offset
                if len(got) >= a.count:
                    break
        c.close()
        return {'ok': len(got) == a.count, 'acked': len(acked), 'consumed': len(got), 'offsets': sorted(got.values())[:3]}
    except Exception as e:  # noqa: BLE001 - the test reads the error text
        return {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('client', choices=['ck', 'kp'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, default=50)
    ap.add_argument('--config', default='{}')
    ap.add_argument('--transactional-id', default=None)
    a = ap.parse_args()
    conf = json.loads(a.config)
    try:
        if a.transactional_id:
            out = run_ck_txn(a, conf)
        else:
            out = run_ck(a, conf) if a.client == 'ck' else run_kp(a, conf)
    except Exception as e:  # noqa: BLE001 - a fatal client error (e.g. authorization) is the result
        out = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
