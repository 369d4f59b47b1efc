#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) steps of test/cli/transactions-command.test.ts.

  txn_cli.py BOOTSTRAP TOPIC TXN_ID leave-open    commits c-0..c-2, then writes open-0..open-4 in a
                                                   transaction left open; prints "open", waits to be killed
  txn_cli.py BOOTSTRAP TOPIC TXN_ID commit N       commits after-0..after-N-1 in one transaction; prints "done"
  txn_cli.py BOOTSTRAP TOPIC - read MODE N         reads partition 0 from the start (isolation MODE) until N
                                                   records or 15 s, then 1 s more; prints the values as JSON
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

bootstrap, topic, txn_id, step = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def producer():
    p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': txn_id, 'transaction.timeout.ms': 300000, 'linger.ms': 1})
    p.init_transactions(30)
    return p


if step == 'leave-open':
    p = producer()
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, f'c-{i}'.encode(), partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, f'open-{i}'.encode(), partition=0)
    p.flush(30)
    print('open', flush=True)
    time.sleep(600)
elif step == 'commit':
    n = int(sys.argv[5])
    p = producer()
    p.begin_transaction()
    for i in range(n):
        p.produce(topic, f'after-{i}'.encode(), partition=0)
    p.commit_transaction(30)
    print('done', flush=True)
elif step == 'read':
    mode, want = sys.argv[5], int(sys.argv[6])
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': f'cli-reader-{time.time_ns()}', 'isolation.level': mode,
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe([topic])
    got = []
    deadline = time.time() + 15
    while time.time() < deadline and len(got) < want:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    end = time.time() + 1
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    print(json.dumps(got), flush=True)
else:
    sys.exit(f'unknown step {step}')
