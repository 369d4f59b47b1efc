#!/usr/bin/env python3
"""A transactional confluent-kafka (librdkafka) producer in zone a writing a zone-local topic
through its zone's proxy: one committed and one aborted transaction, then a read_committed read
from the beginning. Prints one JSON line: what was committed, aborted and read back."""
import argparse, json, sys
from confluent_kafka import Producer, Consumer, TopicPartition

ap = argparse.ArgumentParser()
ap.add_argument('--bootstrap', required=True)
ap.add_argument('--topic', required=True)
ap.add_argument('--partition', type=int, required=True)
ap.add_argument('--count', type=int, default=200)
a = ap.parse_args()

p = Producer({'bootstrap.servers': a.bootstrap, 'client.id': 'txn-zone;ferry_az=a', 'transactional.id': 'zone-txn-1',
              'enable.idempotence': True, 'acks': 'all', 'linger.ms': 5})
p.init_transactions(30)
p.begin_transaction()
for i in range(a.count):
    p.produce(a.topic, value=('c-%06d' % i).encode(), partition=a.partition)
p.commit_transaction(30)
p.begin_transaction()
for i in range(a.count // 2):
    p.produce(a.topic, value=('a-%06d' % i).encode(), partition=a.partition)
p.flush(30)
p.abort_transaction(30)

c = Consumer({'bootstrap.servers': a.bootstrap, 'group.id': 'zone-txn-reader', 'isolation.level': 'read_committed',
              'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'client.id': 'txn-reader;ferry_az=a', 'client.rack': 'a'})
c.assign([TopicPartition(a.topic, a.partition, 0)])
values, idle = [], 0
while idle < 10:
    m = c.poll(1.0)
    if m is None:
        idle += 1
        continue
    if m.error():
        print(json.dumps({'error': str(m.error())}), file=sys.stderr)
        continue
    idle = 0
    values.append(m.value().decode())
c.close()
print(json.dumps({'committed': a.count, 'aborted': a.count // 2, 'read': values}))
