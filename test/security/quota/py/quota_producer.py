#!/usr/bin/python3
"""Produce as fast as librdkafka allows, for test/security/quota/e2e-throttle.test.ts.

  quota_producer.py BOOTSTRAP TOPIC CLIENT_ID SECONDS VALUE_BYTES

Prints "first" once the first record is delivered, then after SECONDS one JSON line:
{"delivered": n, "maxThrottleMs": m, "errors": [...]}, where maxThrottleMs is the largest broker
throttle time librdkafka reported in its statistics (KIP-219 throttle_time_ms).
"""
import json
import os
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, client_id, seconds, value_bytes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    state = {'delivered': 0, 'first': False, 'maxThrottleMs': 0}
    errors = []

    def on_stats(raw):
        stats = json.loads(raw)
        for b in stats.get('brokers', {}).values():
            state['maxThrottleMs'] = max(state['maxThrottleMs'], b.get('throttle', {}).get('max', 0))

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(str(err))
            return
        state['delivered'] += 1
        if not state['first']:
            state['first'] = True
            print('first', flush=True)

    p = Producer({
        'bootstrap.servers': bootstrap, 'client.id': client_id, 'acks': 1,
        'linger.ms': 5, 'batch.size': 1048576, 'queue.buffering.max.kbytes': 65536,
        'message.timeout.ms': 300000, 'statistics.interval.ms': 500, 'stats_cb': on_stats,
        'error_cb': lambda e: errors.append(str(e)),
    })
    value = os.urandom(value_bytes)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            p.produce(topic, value=value, on_delivery=on_delivery)
            p.poll(0)
        except BufferError:
            p.poll(0.05)
    p.poll(0.5)
    print(json.dumps({'delivered': state['delivered'], 'maxThrottleMs': state['maxThrottleMs'], 'errors': sorted(set(errors))[:10]}), flush=True)
    # Records still queued behind the throttle are not waited for.
    os._exit(0)


if __name__ == '__main__':
    main()
