# One load of bench/txn-bench.ts: a confluent-kafka (librdkafka) producer, plain idempotent or
# transactional (commit every N ms or every N records), at full speed for some seconds.
# Prints one JSON line: records, bytes, seconds, per-record delivery latency (produce() to the
# delivery report) p50/p99, commit latency p50/p99, and this process's CPU time.
import json, resource, sys, time
from confluent_kafka import Producer

bootstrap, topic, mode, seconds, size = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
# Records per second to pace at (0: as fast as the client goes).
rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
conf = {'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'acks': 'all', 'linger.ms': 5,
        'queue.buffering.max.messages': 5000, 'batch.size': 262144}
if mode != 'plain':
    conf['transactional.id'] = f'txn-bench-{mode}-{time.time_ns()}'
p = Producer(conf)
lat = []
def report(err, msg, t0):
    if err is None:
        lat.append(time.perf_counter() - t0)
    else:
        errors.append(str(err))
errors = []
if mode != 'plain':
    p.init_transactions(30)
value = b'x' * size
# Warm-up, not measured: the client learns the topic's partitions and leaders (librdkafka looks a
# new topic up on its next metadata refresh, up to a second later).
if mode != 'plain':
    p.begin_transaction()
p.produce(topic, value)
p.flush(30)
if mode != 'plain':
    p.commit_transaction(30)
commit_lat = []
sent = 0
start = time.perf_counter()
end = start + seconds
every_ms = float(mode[len('txn-ms-'):]) if mode.startswith('txn-ms-') else None
every_n = int(mode[len('txn-n-'):]) if mode.startswith('txn-n-') else None
while time.perf_counter() < end:
    if mode != 'plain':
        p.begin_transaction()
    txn_t0 = time.perf_counter()
    n = 0
    while True:
        now = time.perf_counter()
        if rate > 0:
            due = start + sent / rate
            if due > now:
                # Sleep (poll's timeout is whole milliseconds: a shorter one would spin).
                p.poll(0)
                time.sleep(due - now)
                continue
        try:
            p.produce(topic, value, callback=lambda err, msg, t0=now: report(err, msg, t0))
            sent += 1
            n += 1
        except BufferError:
            p.poll(0.001)
            continue
        if n % 64 == 0:
            p.poll(0)
        if mode == 'plain':
            if n >= 1000 or now >= end: break
        elif every_ms is not None and (now - txn_t0) * 1000 >= every_ms: break
        elif every_n is not None and n >= every_n: break
    if mode != 'plain':
        c0 = time.perf_counter()
        p.commit_transaction(30)
        commit_lat.append(time.perf_counter() - c0)
    else:
        p.poll(0)
p.flush(30)
elapsed = time.perf_counter() - start
def q(xs, f):
    if not xs: return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(f * len(xs)))] * 1000
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({'mode': mode, 'rate': rate, 'commitMs': [round(c * 1000, 1) for c in commit_lat] if len(commit_lat) <= 200 else None, 'records': len(lat), 'sent': sent, 'errors': errors[:3], 'bytes': len(lat) * size, 'seconds': elapsed,
                  'p50Ms': q(lat, 0.5), 'p99Ms': q(lat, 0.99), 'commits': len(commit_lat), 'commitP50Ms': q(commit_lat, 0.5), 'commitP99Ms': q(commit_lat, 0.99),
                  'cpuSeconds': ru.ru_utime + ru.ru_stime}))
