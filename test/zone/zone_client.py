#!/usr/bin/python3
"""librdkafka (confluent-kafka-python) clients of one zone for test/zone/*.test.ts.

Run with Debian's /usr/bin/python3. Every client says its zone the way Ferry reads it: the
`ferry_az=<zone>` token in client.id (Produce and Metadata carry no rack) and, for consumers,
client.rack (Fetch v11+ rackId, which KIP-392 read replicas key on).

  produce  idempotent acks=all producer of numbered messages (key "<name>-<seq>", value
           "<name> <seq> " then filler up to --size). Appends "key partition offset" to --out for
           every acknowledged message. Stops after --bytes of values, or (without --bytes) at
           SIGTERM; --rate caps messages per second. Prints "started", then one JSON summary.
  consume  one member of consumer group --group, subscribed to --topic, from the beginning.
           Appends "partition offset key" to --out for every message; stops when it has
           --expected messages (or the count the test writes to --expected-file once the
           producers are done) and nothing new came for --idle seconds (or at --timeout).
           --rack-only: the zone in client.rack only, no ferry_az token (the KIP-392 path).
           Prints "started", then one JSON summary.
Exit code 2: the client could not finish (reason in the JSON's "error").
"""
import argparse
import json
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def err_info(e):
    return {'code': e.code(), 'name': e.name(), 'str': e.str(), 'fatal': e.fatal(), 'retriable': e.retriable()}


def cmd_produce(a):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out = open(a.out, 'a', buffering=1)
    errors = []           # error_cb events (client-level; librdkafka retries these itself)
    delivery_errors = []  # messages that failed for good
    acked = [0, 0]

    def on_error(e):
        errors.append(err_info(e))
        log('error_cb', e)

    p = Producer({
        'bootstrap.servers': a.bootstrap, 'client.id': '%s;ferry_az=%s' % (a.name, a.zone),
        'enable.idempotence': True, 'acks': 'all', 'linger.ms': a.linger,
        'batch.size': 1000000, 'queue.buffering.max.kbytes': 65536,
        'message.timeout.ms': a.message_timeout_ms, 'request.timeout.ms': 30000,
        'retry.backoff.ms': 100, 'reconnect.backoff.ms': 100, 'reconnect.backoff.max.ms': 1000,
        'topic.metadata.refresh.interval.ms': 5000, 'error_cb': on_error,
    })

    def on_delivery(err, msg):
        if err is None:
            out.write('%s %d %d\n' % (msg.key().decode(), msg.partition(), msg.offset()))
            acked[0] += 1
            acked[1] += len(msg.value())
        else:
            if len(delivery_errors) < 50:
                delivery_errors.append(dict(err_info(err), key=msg.key().decode()))
            log('delivery error', msg.key(), err)

    filler = b'z' * a.size
    seq = 0
    sent_bytes = 0
    started = time.time()
    print('started', flush=True)
    interval = 1.0 / a.rate if a.rate else 0
    next_at = time.time()
    while not stop.is_set() and (a.bytes == 0 or sent_bytes < a.bytes):
        head = b'%s %d ' % (a.name.encode(), seq)
        value = head + filler[:max(0, a.size - len(head))]
        try:
            p.produce(a.topic, key=b'%s-%d' % (a.name.encode(), seq), value=value, on_delivery=on_delivery)
        except BufferError:
            p.poll(0.05)
            continue
        seq += 1
        sent_bytes += len(value)
        p.poll(0)
        if interval:
            next_at += interval
            delay = next_at - time.time()
            if delay > 0:
                stop.wait(delay)
    left = p.flush(a.flush_timeout)
    elapsed = time.time() - started
    out.close()
    res = {'sent': seq, 'sentBytes': sent_bytes, 'acked': acked[0], 'ackedBytes': acked[1], 'notFlushed': left,
           'deliveryErrors': delivery_errors, 'errors': errors, 'seconds': round(elapsed, 2)}
    print(json.dumps(res), flush=True)
    return 0 if left == 0 else 2


def read_expected(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def cmd_consume(a):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out = open(a.out, 'a', buffering=1)
    errors = []

    def on_error(e):
        errors.append(err_info(e))
        log('error_cb', e)

    # --rack-only: the zone only as client.rack (Fetch rackId), as a plain KIP-392 client says it:
    # Metadata then names the real leader, whose Fetch answer points at the zone's read replica.
    client_id = a.name if a.rack_only else '%s;ferry_az=%s' % (a.name, a.zone)
    c = Consumer({
        'bootstrap.servers': a.bootstrap, 'client.id': client_id, 'client.rack': a.zone,
        'group.id': a.group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': True,
        'enable.partition.eof': False, 'topic.metadata.refresh.interval.ms': 5000,
        'fetch.wait.max.ms': 200, 'error_cb': on_error,
    })
    c.subscribe([a.topic])
    print('started', flush=True)
    got = 0
    got_bytes = 0
    last_new = time.time()
    deadline = time.time() + a.timeout
    while not stop.is_set() and time.time() < deadline:
        msgs = c.consume(num_messages=1000, timeout=0.2)
        now = time.time()
        for m in msgs:
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(err_info(m.error()))
                continue
            out.write('%d %d %s\n' % (m.partition(), m.offset(), m.key().decode() if m.key() is not None else ''))
            got += 1
            got_bytes += len(m.value() or b'')
            last_new = now
        if not a.expected and a.expected_file:
            a.expected = read_expected(a.expected_file)
        if a.expected and got >= a.expected and now - last_new >= a.idle:
            break
    out.close()
    c.close()
    done = bool(a.expected) and got >= a.expected
    print(json.dumps({'consumed': got, 'bytes': got_bytes, 'errors': errors[:50], 'complete': done}), flush=True)
    return 0 if done else 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['produce', 'consume'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--zone', required=True)
    ap.add_argument('--name', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--bytes', type=int, default=0)
    ap.add_argument('--size', type=int, default=1024)
    ap.add_argument('--rate', type=float, default=0)
    ap.add_argument('--linger', type=int, default=5)
    ap.add_argument('--message-timeout-ms', type=int, default=120000)
    ap.add_argument('--flush-timeout', type=float, default=120)
    ap.add_argument('--group')
    ap.add_argument('--expected', type=int, default=0)
    ap.add_argument('--expected-file', help='a file the test writes the expected count to once producing is done')
    ap.add_argument('--idle', type=float, default=2.0)
    ap.add_argument('--rack-only', action='store_true')
    ap.add_argument('--timeout', type=float, default=120)
    a = ap.parse_args()
    try:
        rc = cmd_produce(a) if a.command == 'produce' else cmd_consume(a)
    except Exception as e:  # the Node test reads the reason from the JSON
        print(json.dumps({'error': repr(e)}), flush=True)
        rc = 2
    sys.exit(rc)


if __name__ == '__main__':
    main()
