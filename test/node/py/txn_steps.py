# Steps of test/node/txn-restart.test.ts, driven by confluent-kafka-python (librdkafka).
#   txn_steps.py BOOTSTRAP TOPIC leave-open   commit 10, abort 10, then 5 in a transaction left open (prints "open" and waits to be killed)
#   txn_steps.py BOOTSTRAP TOPIC fence        a new producer of the same id: aborts the open transaction, commits 3 more
#   txn_steps.py BOOTSTRAP TOPIC read MODE N  reads from the start with isolation MODE until N records or 15 s; prints values as JSON
import json, sys, time
from confluent_kafka import Consumer, Producer

bootstrap, topic, step = sys.argv[1], sys.argv[2], sys.argv[3]
TXN_ID = 'restart-txn'

def producer():
    p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': TXN_ID, 'transaction.timeout.ms': 60000, 'linger.ms': 1})
    p.init_transactions(30)
    return p

if step == 'leave-open':
    p = producer()
    p.begin_transaction()
    for i in range(10): p.produce(topic, f'c1-{i}'.encode(), partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(10): p.produce(topic, f'a-{i}'.encode(), partition=0)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(5): p.produce(topic, f'open-{i}'.encode(), partition=0)
    p.flush(30)
    print('open', flush=True)
    time.sleep(600)
elif step == 'fence':
    p = producer()
    p.begin_transaction()
    for i in range(3): p.produce(topic, f'c2-{i}'.encode(), partition=0)
    p.commit_transaction(30)
    print('done', flush=True)
elif step == 'read':
    mode, want = sys.argv[4], int(sys.argv[5])
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': f'reader-{time.time_ns()}', 'isolation.level': mode,
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe([topic])
    got = []
    deadline = time.time() + 15
    while time.time() < deadline and len(got) < want:
        m = c.poll(0.2)
        if m is not None and m.error() is None: got.append(m.value().decode())
    # A little longer: nothing more may come.
    end = time.time() + 1
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and m.error() is None: got.append(m.value().decode())
    c.close()
    print(json.dumps(got), flush=True)
