#!/usr/bin/python3
"""Produce->consume latency and throughput with librdkafka (confluent-kafka-python), 1 KiB
messages, acks=all. Prints one JSON object. Run through test/clients/perf-e2e.ts, which starts the
broker and measures the disk's fdatasync in the same run.

Phase 1 (latency): a paced producer (--rate msg/s for --seconds) with linger.ms=0; each value starts
with the send time (perf_counter_ns, same process); a consumer thread records receive - send.
Phase 2 (throughput): --count messages as fast as the producer can send them; MB/s from the first
send to the last message consumed, and from the first send to the last delivery acknowledgement.
"""
import argparse
import json
import struct
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

SIZE = 1024


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(q * len(sorted_vals)))]


def consumer_thread(bootstrap, topic, partitions, expected, out, ready, paced):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'perf-%s' % topic, 'enable.auto.commit': False,
                  'fetch.wait.max.ms': 100, 'fetch.min.bytes': 1,
                  'queued.min.messages': 100000})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    # Wait for the assignment to be active before the producer starts.
    c.poll(0.1)
    ready.set()
    got = 0
    lat = out['latencies_ns']
    deadline = time.time() + 300
    while got < expected and time.time() < deadline:
        # consume() returns only when it has num_messages or the timeout passed: the paced (latency)
        # phase takes one message at a time so no message waits for a batch to fill.
        msgs = [c.poll(0.1)] if paced else c.consume(num_messages=1000, timeout=0.005)
        for m in msgs:
            if m is None:
                continue
            if m.error():
                continue
            now = time.perf_counter_ns()
            got += 1
            lat.append(now - struct.unpack_from('>q', m.value(), 0)[0])
            out['last_ns'] = now
    out['consumed'] = got
    c.close()


def run_phase(bootstrap, topic, partitions, count, rate):
    admin = AdminClient({'bootstrap.servers': bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(15)
    out = {'latencies_ns': [], 'consumed': 0, 'last_ns': 0}
    ready = threading.Event()
    t = threading.Thread(target=consumer_thread, args=(bootstrap, topic, partitions, count, out, ready, bool(rate)), daemon=True)
    t.start()
    if not ready.wait(15):
        raise RuntimeError('consumer did not start')
    time.sleep(1.0)
    conf = {'bootstrap.servers': bootstrap, 'acks': 'all', 'linger.ms': 0 if rate else 5,
            'batch.size': 1000000, 'queue.buffering.max.messages': 200000, 'queue.buffering.max.kbytes': 512000}
    p = Producer(conf)
    acked = [0, 0]
    ack_lat = []

    def on_delivery(err, msg):
        if err is None:
            now = time.perf_counter_ns()
            acked[0] += 1
            acked[1] = now
            ack_lat.append(now - struct.unpack_from('>q', msg.value(), 0)[0])

    filler = b'x' * (SIZE - 8)
    start = time.perf_counter_ns()
    interval = 1e9 / rate if rate else 0
    for i in range(count):
        if rate:
            target = start + i * interval
            while time.perf_counter_ns() < target:
                p.poll(0)
                time.sleep(0.0002)
        v = struct.pack('>q', time.perf_counter_ns()) + filler
        while True:
            try:
                p.produce(topic, value=v, partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.001)
        p.poll(0)
    p.flush(120)
    t.join(120)
    lat = sorted(out['latencies_ns'])
    ack_lat.sort()
    secs_consume = (out['last_ns'] - start) / 1e9 if out['last_ns'] else None
    secs_ack = (acked[1] - start) / 1e9 if acked[1] else None
    mib = count * SIZE / 1048576
    return {
        'messages': count, 'acked': acked[0], 'consumed': out['consumed'],
        'latency_ms': {'p50': pct(lat, 0.5) / 1e6 if lat else None, 'p99': pct(lat, 0.99) / 1e6 if lat else None,
                       'max': lat[-1] / 1e6 if lat else None},
        'produce_ack_latency_ms': {'p50': pct(ack_lat, 0.5) / 1e6 if ack_lat else None, 'p99': pct(ack_lat, 0.99) / 1e6 if ack_lat else None},
        'produce_consume_MiB_per_s': mib / secs_consume if secs_consume else None,
        'produce_acked_MiB_per_s': mib / secs_ack if secs_ack else None,
        'seconds': secs_consume,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--rate', type=int, default=2000)
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--count', type=int, default=200000)
    ap.add_argument('--partitions', type=int, default=1)
    a = ap.parse_args()
    lat = run_phase(a.bootstrap, 'perf-latency', a.partitions, a.rate * a.seconds, a.rate)
    thr = run_phase(a.bootstrap, 'perf-throughput', a.partitions, a.count, 0)
    print(json.dumps({'messageBytes': SIZE, 'acks': 'all', 'latencyPhase': lat, 'throughputPhase': thr}))


if __name__ == '__main__':
    main()
