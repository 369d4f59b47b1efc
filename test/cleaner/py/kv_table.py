#!/usr/bin/python3
"""A compacted topic used as a key-value store by confluent-kafka-python (librdkafka), for
test/cleaner/kv-store-clients.test.ts. Run with Debian's /usr/bin/python3.

  create --topic T --partitions N --config k=v ...   the compacted topic
  write  --topic T --ops FILE                         FILE: one JSON op a line, {"k": key, "v": value or null, "p": partition (optional)}
  table  --topic T                                    the table rebuilt from offset 0 (a null value deletes its key)

Each prints one JSON object as its last stdout line; the Node test makes the assertions.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cmd_create(a):
    admin = AdminClient({'bootstrap.servers': a.bootstrap})
    config = dict(c.split('=', 1) for c in a.config)
    fs = admin.create_topics([NewTopic(a.topic, num_partitions=a.partitions, replication_factor=1, config=config)], operation_timeout=10)
    for f in fs.values():
        f.result()
    return {'created': a.topic}


def cmd_write(a):
    """Idempotent (so ordered per key through retries), acks=all; every op must be acknowledged."""
    p = Producer({'bootstrap.servers': a.bootstrap, 'enable.idempotence': True, 'acks': 'all', 'linger.ms': 5})
    errors = []
    acked = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[0] += 1

    sent = 0
    with open(a.ops) as f:
        for line in f:
            op = json.loads(line)
            kw = {'key': op['k'].encode(), 'value': None if op['v'] is None else op['v'].encode(), 'on_delivery': on_delivery}
            if op.get('p') is not None:
                kw['partition'] = op['p']
            while True:
                try:
                    p.produce(a.topic, **kw)
                    break
                except BufferError:
                    p.poll(0.05)
            sent += 1
            p.poll(0)
    left = p.flush(30)
    return {'sent': sent, 'acked': acked[0], 'unflushed': left, 'errors': errors[:10]}


def cmd_table(a):
    c = Consumer({'bootstrap.servers': a.bootstrap, 'group.id': 'kv-table-%f' % time.time(), 'enable.auto.commit': False,
                  'enable.partition.eof': True, 'auto.offset.reset': 'earliest'})
    md = c.list_topics(a.topic, timeout=10).topics[a.topic]
    parts = sorted(md.partitions)
    c.assign([TopicPartition(a.topic, p, 0) for p in parts])
    table = {}
    seen_keys = {}
    duplicates = []
    offset_errors = []
    last = {p: -1 for p in parts}
    records = 0
    at_eof = set()
    deadline = time.time() + a.timeout
    while len(at_eof) < len(parts) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_eof.add(m.partition())
            else:
                log('consume error', m.error())
            continue
        records += 1
        at_eof.discard(m.partition())
        if m.offset() <= last[m.partition()]:
            offset_errors.append('partition %d offset %d after %d' % (m.partition(), m.offset(), last[m.partition()]))
        last[m.partition()] = m.offset()
        k = m.key().decode()
        if k in seen_keys:
            duplicates.append('%s at %s and %d/%d' % (k, seen_keys[k], m.partition(), m.offset()))
        seen_keys[k] = '%d/%d' % (m.partition(), m.offset())
        if m.value() is None:
            table.pop(k, None)
        else:
            table[k] = m.value().decode()
    high = {p: c.get_watermark_offsets(TopicPartition(a.topic, p), timeout=10)[1] for p in parts}
    c.close()
    return {'table': table, 'records': records, 'eof': len(at_eof) == len(parts), 'high': high, 'last': last,
            'offsetErrors': offset_errors[:10], 'duplicates': duplicates[:10], 'duplicateCount': len(duplicates)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['create', 'write', 'table'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--partitions', type=int, default=1)
    ap.add_argument('--config', action='append', default=[])
    ap.add_argument('--ops')
    ap.add_argument('--timeout', type=float, default=30)
    a = ap.parse_args()
    out = {'create': cmd_create, 'write': cmd_write, 'table': cmd_table}[a.command](a)
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
