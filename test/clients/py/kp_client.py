#!/usr/bin/python3
"""kafka-python scenarios against a broker, for test/clients/kafka-python.test.ts.

Run with Debian's /usr/bin/python3. Prints one JSON object (the observations) as the last line.
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata


def value(i):
    return bytes((i * 7 + j) % 256 for j in range(i % 300 + 1))


def cmd_produce_consume(a):
    p = KafkaProducer(bootstrap_servers=a.bootstrap, acks='all', linger_ms=5, request_timeout_ms=15000,
                      compression_type=None if a.compression == 'none' else a.compression)
    futures = [p.send(a.topic, key=b'k%d' % i, value=value(i), headers=[('n', str(i).encode())]) for i in range(a.count)]
    p.flush(30)
    acks = [f.get(timeout=30) for f in futures]
    p.close()
    c = KafkaConsumer(a.topic, bootstrap_servers=a.bootstrap, auto_offset_reset='earliest', enable_auto_commit=False,
                      group_id=None, consumer_timeout_ms=5000)
    got = []
    deadline = time.time() + 30
    while len(got) < a.count and time.time() < deadline:
        for m in c:
            got.append(m)
            if len(got) >= a.count:
                break
    c.close()
    bad = []
    for m in got:
        i = int(m.key[1:])
        if m.value != value(i) or dict(m.headers).get('n') != str(i).encode() or m.offset != acks[i].offset:
            bad.append(i)
    print(json.dumps({'acked': len(acks), 'ackOffsets': [r.offset for r in acks[:3]], 'consumed': len(got),
                      'distinct': len(set(m.offset for m in got)), 'mismatches': bad[:10]}))


def cmd_commit_resume(a):
    p = KafkaProducer(bootstrap_servers=a.bootstrap, acks='all')
    for i in range(a.count):
        p.send(a.topic, key=b'%d' % i, value=b'r%d' % i, partition=0)
    p.flush(30)
    p.close()
    tp = TopicPartition(a.topic, 0)

    def consumer():
        return KafkaConsumer(a.topic, bootstrap_servers=a.bootstrap, group_id=a.group, auto_offset_reset='earliest',
                             enable_auto_commit=False, max_poll_records=10, session_timeout_ms=10000,
                             heartbeat_interval_ms=1000)

    c1 = consumer()
    first = []
    deadline = time.time() + 30
    while len(first) < a.stop_at and time.time() < deadline:
        for records in c1.poll(timeout_ms=500, max_records=a.stop_at - len(first)).values():
            first.extend(records)
    last = first[-1].offset if first else -1
    c1.commit({tp: OffsetAndMetadata(last + 1, 'resume-here')})
    committed1 = c1.committed(tp)
    c1.close()  # LeaveGroup
    c2 = consumer()
    second = []
    deadline = time.time() + 30
    while len(second) < a.count - a.stop_at and time.time() < deadline:
        for records in c2.poll(timeout_ms=500).values():
            second.extend(records)
    committed2 = c2.committed(tp)
    c2.commit()
    committed3 = c2.committed(tp)
    c2.close()
    print(json.dumps({'firstOffsets': [m.offset for m in first], 'committedAfterFirst': committed1, 'committedSeenBySecond': committed2,
                      'secondFirstOffset': second[0].offset if second else None, 'secondCount': len(second),
                      'secondDistinct': len(set(m.offset for m in second)), 'committedAtEnd': committed3}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command')
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', default='t')
    ap.add_argument('--group', default='g')
    ap.add_argument('--count', type=int, default=500)
    ap.add_argument('--stop-at', type=int, default=40)
    ap.add_argument('--compression', default='none')
    a = ap.parse_args()
    {'produce-consume': cmd_produce_consume, 'commit-resume': cmd_commit_resume}[a.command](a)


if __name__ == '__main__':
    main()
