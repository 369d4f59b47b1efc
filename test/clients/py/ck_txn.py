#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) transaction scenarios, for test/clients/transactions.test.ts.

Run with Debian's /usr/bin/python3. Each subcommand prints one JSON object (its observations) as
the last line of stdout; long-running ones print progress lines before it. The Node test makes
the assertions.
"""
import argparse
import json
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

# Short reconnect backoffs: the broker is SIGKILLed and restarted under these clients.
COMMON = {'socket.timeout.ms': 10000, 'topic.metadata.refresh.interval.ms': 1000,
          'reconnect.backoff.ms': 100, 'reconnect.backoff.max.ms': 500}
PRODUCER = dict(COMMON, **{'retry.backoff.ms': 100})


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def out(obj):
    print(json.dumps(obj), flush=True)


def kafka_error(e):
    """The KafkaError inside a KafkaException (or the error itself)."""
    return e.args[0] if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError) else e


def err_name(e):
    k = kafka_error(e)
    return k.name() if isinstance(k, KafkaError) else repr(k)


def create_topics(bootstrap, names, partitions):
    admin = AdminClient(dict(COMMON, **{'bootstrap.servers': bootstrap}))
    fs = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names], operation_timeout=10)
    for f in fs.values():
        try:
            f.result(20)
        except KafkaException as e:  # created beforehand by the test (e.g. to wait for its leaders)
            if kafka_error(e).code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def cmd_produce_input(a):
    """Creates the input and output topics; produces `count` records key=value=in-<n> (idempotent)."""
    create_topics(a.bootstrap, [a.topic, a.out_topic], a.partitions)
    errors = []
    acked = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err.name())
        else:
            acked[0] += 1
    p = Producer(dict(PRODUCER, **{'bootstrap.servers': a.bootstrap, 'enable.idempotence': True, 'linger.ms': 20,
                                 'batch.num.messages': 10000, 'queue.buffering.max.messages': 200000}))
    t0 = time.time()
    for i in range(a.count):
        v = b'in-%d' % i
        while True:
            try:
                p.produce(a.topic, key=v, value=v, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        if i % 5000 == 0:
            p.poll(0)
    left = p.flush(60)
    out({'acked': acked[0], 'notFlushed': left, 'errors': errors[:10], 'seconds': round(time.time() - t0, 2)})


class Ctp:
    """The consume-transform-produce loop of a transactional application (librdkafka's
    documented error handling): abortable -> abort + rewind to the committed offsets; retriable
    commit -> retry the commit; fatal -> a new producer (init_transactions fences the old one) and
    a new consumer. Done when the group's committed offsets of the input reach its ends."""

    def __init__(self, a):
        self.a = a
        self.producer = None
        self.consumer = None
        self.rebalanced = False
        self.stats = {'commits': 0, 'aborts': 0, 'producersCreated': 0, 'consumersCreated': 0, 'rewinds': 0,
                      'recordsCommitted': 0, 'rebalances': 0, 'positionMismatches': 0, 'errors': {}, 'fatal': 0,
                      'commitRetries': 0, 'emptyPolls': 0}
        self.ends = None

    def note(self, where, e):
        key = '%s:%s' % (where, err_name(e))
        self.stats['errors'][key] = self.stats['errors'].get(key, 0) + 1
        log(time.strftime('%H:%M:%S'), where, e)

    def make_producer(self):
        while True:
            p = Producer(dict(PRODUCER, **{'bootstrap.servers': self.a.bootstrap, 'transactional.id': self.a.txn_id,
                                         'transaction.timeout.ms': 20000, 'linger.ms': 5, 'batch.num.messages': 2000,
                                         'message.timeout.ms': 20000}))
            self.stats['producersCreated'] += 1
            for _ in range(20):
                try:
                    p.init_transactions(15)
                    self.producer = p
                    return
                except KafkaException as e:
                    self.note('init_transactions', e)
                    k = kafka_error(e)
                    if isinstance(k, KafkaError) and k.fatal():
                        break
                    time.sleep(0.2)
            del p
            time.sleep(0.2)

    def drop_producer(self):
        p, self.producer = self.producer, None
        if p is not None:
            try:
                p.purge()
                p.flush(0)
            except Exception as e:  # a fatal producer may refuse: it is dropped either way
                log('dropping producer', e)

    def make_consumer(self):
        c = Consumer(dict(COMMON, **{'bootstrap.servers': self.a.bootstrap, 'group.id': self.a.group,
                                     'isolation.level': 'read_committed', 'enable.auto.commit': False,
                                     'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000,
                                     'heartbeat.interval.ms': 500, 'fetch.wait.max.ms': 100,
                                     'max.poll.interval.ms': 60000}))

        def on_assign(cons, parts):
            self.rebalanced = True
            self.stats['rebalances'] += 1

        def on_revoke(cons, parts):
            self.rebalanced = True
        c.subscribe([self.a.topic], on_assign=on_assign, on_revoke=on_revoke)
        self.consumer = c
        self.stats['consumersCreated'] += 1

    def drop_consumer(self):
        c, self.consumer = self.consumer, None
        if c is not None:
            try:
                c.close()
            except Exception as e:
                log('closing consumer', e)

    def rewind(self):
        """Seek every assigned partition back to the group's committed offset (or the beginning)."""
        self.stats['rewinds'] += 1
        assignment = self.consumer.assignment()
        if not assignment:
            return
        for _ in range(10):
            try:
                committed = self.consumer.committed(assignment, timeout=15)
                for tp in committed:
                    self.consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))
                return
            except KafkaException as e:
                self.note('rewind', e)
                time.sleep(0.3)
        # Could not rewind: a new consumer starts from the committed offsets.
        self.drop_consumer()
        self.make_consumer()

    def done(self):
        assignment = self.consumer.assignment()
        if len(assignment) != self.a.partitions:
            return False
        try:
            if self.ends is None:
                self.ends = {tp.partition: self.consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in assignment}
            committed = self.consumer.committed(assignment, timeout=10)
        except KafkaException as e:
            self.note('done-check', e)
            return False
        return all(tp.offset == self.ends[tp.partition] for tp in committed)

    def batch(self):
        """Up to batch-size records (poll(), not consume(n): see ck_client.py cmd_churn); None when
        a rebalance landed meanwhile (the caller rewinds)."""
        self.rebalanced = False
        recs = []
        deadline = time.time() + 0.5
        while len(recs) < self.a.batch and time.time() < deadline:
            m = self.consumer.poll(0.05 if recs else 0.2)
            if self.rebalanced:
                return None
            if m is None:
                if recs:
                    break
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    self.note('poll', m.error())
                continue
            recs.append(m)
        return recs

    def out_partition(self, m):
        """The input's partition; with --spread, <n> % partitions for the input in-<n> (so that every
        transaction writes every partition of the output)."""
        return int(m.value()[3:]) % self.a.partitions if self.a.spread else m.partition()

    def transact(self, recs):
        p = self.producer
        p.begin_transaction()
        for m in recs:
            value = b'out-' + m.value()[3:]
            while True:
                try:
                    p.produce(self.a.out_topic, key=m.key(), value=value, partition=self.out_partition(m))
                    break
                except BufferError:
                    p.poll(0.01)
        p.poll(0)
        mine = {}
        for m in recs:
            mine[m.partition()] = max(mine.get(m.partition(), -1), m.offset() + 1)
        positions = [tp for tp in self.consumer.position(self.consumer.assignment()) if tp.offset >= 0]
        for tp in positions:
            if tp.partition in mine and tp.offset != mine[tp.partition]:
                self.stats['positionMismatches'] += 1
        p.send_offsets_to_transaction(positions, self.consumer.consumer_group_metadata(), 30)
        if self.a.hold_after is not None and self.stats['recordsCommitted'] >= self.a.hold_after:
            # --hold-after: once, the transaction is held open (its records acknowledged by their
            # leaders, its partitions and offsets added on the coordinator) for --hold-ms before the
            # commit, announced by a 'holding' line: the test kills a broker in that window.
            self.a.hold_after = None
            p.flush(30)
            print('holding %d %d' % (self.stats['recordsCommitted'], len(recs)), flush=True)
            time.sleep(self.a.hold_ms / 1000.0)
        for attempt in range(10):
            try:
                p.commit_transaction(30)
                return
            except KafkaException as e:
                k = kafka_error(e)
                if isinstance(k, KafkaError) and k.retriable() and not k.txn_requires_abort() and not k.fatal():
                    self.note('commit(retry)', e)
                    self.stats['commitRetries'] += 1
                    continue
                raise
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, 'commit retries exhausted'))

    def abort(self):
        for _ in range(20):
            try:
                self.producer.abort_transaction(30)
                self.stats['aborts'] += 1
                return True
            except KafkaException as e:
                self.note('abort', e)
                k = kafka_error(e)
                if isinstance(k, KafkaError) and k.fatal():
                    return False
                time.sleep(0.2)
        return False

    def run(self):
        t0 = time.time()
        deadline = t0 + self.a.seconds
        self.make_producer()
        self.make_consumer()
        print('started', flush=True)
        finished = False
        while time.time() < deadline:
            if self.producer is None:
                self.make_producer()
            if self.consumer is None:
                self.make_consumer()
            recs = self.batch()
            if recs is None:
                self.rewind()
                continue
            if not recs:
                self.stats['emptyPolls'] += 1
                if self.done():
                    finished = True
                    break
                continue
            try:
                self.transact(recs)
                self.stats['commits'] += 1
                self.stats['recordsCommitted'] += len(recs)
                print('progress %d %d %d' % (self.stats['recordsCommitted'], self.stats['commits'], self.stats['aborts']), flush=True)
                if self.a.commit_lines:
                    # commit <wall ms> <records> <partition>:<records>,... (the output partitions written)
                    per = {}
                    for m in recs:
                        per[self.out_partition(m)] = per.get(self.out_partition(m), 0) + 1
                    print('commit %d %d %s' % (int(time.time() * 1000), len(recs), ','.join('%d:%d' % kv for kv in sorted(per.items()))), flush=True)
            except KafkaException as e:
                self.note('txn', e)
                k = kafka_error(e)
                if isinstance(k, KafkaError) and k.fatal():
                    self.stats['fatal'] += 1
                    self.drop_producer()
                    self.drop_consumer()
                    continue
                if not self.abort():
                    self.stats['fatal'] += 1
                    self.drop_producer()
                    self.drop_consumer()
                    continue
                self.rewind()
        self.stats['finished'] = finished
        self.stats['seconds'] = round(time.time() - t0, 2)
        self.stats['ends'] = self.ends
        self.drop_consumer()
        out(self.stats)


def cmd_ctp(a):
    Ctp(a).run()


def cmd_read(a):
    """Reads every partition of a topic from the beginning to its end (EOF on each) with the given
    isolation level; reports counts, duplicates, the values missing from / extra to in-range, and
    each partition's end."""
    c = Consumer(dict(COMMON, **{'bootstrap.servers': a.bootstrap, 'group.id': a.group, 'isolation.level': a.isolation,
                                 'enable.auto.commit': False, 'enable.partition.eof': True, 'fetch.wait.max.ms': 100}))
    c.assign([TopicPartition(a.topic, p, 0) for p in range(a.partitions)])
    values = []
    per_partition = {}
    eof = {}
    deadline = time.time() + a.seconds
    while len(eof) < a.partitions and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof[m.partition()] = m.offset()
            else:
                log('read error', m.error())
            continue
        eof.pop(m.partition(), None)
        values.append(m.value().decode())
        per_partition[m.partition()] = per_partition.get(m.partition(), 0) + 1
    hw = [c.get_watermark_offsets(TopicPartition(a.topic, p), timeout=10)[1] for p in range(a.partitions)]
    c.close()
    seen = set()
    dups = []
    for v in values:
        if v in seen:
            dups.append(v)
        seen.add(v)
    res = {'count': len(values), 'distinct': len(seen), 'duplicates': len(dups), 'duplicateSample': dups[:10],
           'eofAt': eof, 'highWatermarks': hw, 'allEof': len(eof) == a.partitions, 'perPartition': per_partition}
    if a.count:
        expected = {'%s%d' % (a.prefix, i) for i in range(a.count)}
        missing = sorted(expected - seen, key=lambda v: int(v[len(a.prefix):]) if v[len(a.prefix):].isdigit() else 0)
        extra = sorted(seen - expected)
        res.update({'missing': len(missing), 'missingSample': missing[:10], 'extra': len(extra), 'extraSample': extra[:10]})
    else:
        res['values'] = values
    out(res)


def txn_producer(bootstrap, txn_id, **extra):
    conf = dict(PRODUCER, **{'bootstrap.servers': bootstrap, 'transactional.id': txn_id, 'linger.ms': 0})
    conf.update(extra)
    return Producer(conf)


def cmd_fence(a):
    """Zombie fencing: P1 (id X) begins and produces; P2 (id X) init_transactions; P1's next produce
    and commit fail (fatal, fenced); P2 commits its own records."""
    create_topics(a.bootstrap, [a.topic], 1)
    res = {}
    p1 = txn_producer(a.bootstrap, a.txn_id)
    p1.init_transactions(20)
    p1.begin_transaction()
    for i in range(10):
        p1.produce(a.topic, key=b'z', value=b'zombie-%d' % i, partition=0)
    res['p1Unflushed'] = p1.flush(15)
    p2 = txn_producer(a.bootstrap, a.txn_id)
    p2.init_transactions(20)
    res['p2Init'] = True
    delivery = []
    try:
        p1.produce(a.topic, key=b'z', value=b'zombie-late', partition=0,
                   on_delivery=lambda err, msg: delivery.append(err.name() if err else 'ok'))
        p1.flush(15)
    except KafkaException as e:
        delivery.append('raised:' + err_name(e))
    res['p1LateDelivery'] = delivery
    try:
        p1.commit_transaction(20)
        res['p1Commit'] = 'ok'
    except KafkaException as e:
        k = kafka_error(e)
        res['p1Commit'] = err_name(e)
        res['p1CommitFatal'] = bool(isinstance(k, KafkaError) and k.fatal())
        res['p1CommitMessage'] = str(k)
    p2.begin_transaction()
    for i in range(5):
        p2.produce(a.topic, key=b'p2', value=b'p2-%d' % i, partition=0)
    p2.commit_transaction(20)
    res['p2Commit'] = 'ok'
    out(res)


def cmd_txn_produce(a):
    """One committed transaction of `count` records <prefix><n> to partition 0."""
    p = txn_producer(a.bootstrap, a.txn_id)
    p.init_transactions(20)
    p.begin_transaction()
    for i in range(a.count):
        p.produce(a.topic, key=b'k', value=b'%s%d' % (a.prefix.encode(), i), partition=0)
    p.commit_transaction(20)
    out({'committed': a.count})


def cmd_abandon(a):
    """Begins a transaction with transaction.timeout.ms=3000, produces (flushed, acknowledged), prints
    'produced' and then idles until killed, never committing."""
    create_topics(a.bootstrap, [a.topic], 1)
    p = txn_producer(a.bootstrap, a.txn_id, **{'transaction.timeout.ms': 3000, 'socket.timeout.ms': 3000})
    p.init_transactions(20)
    p.begin_transaction()
    for i in range(a.count):
        p.produce(a.topic, key=b'a', value=b'%s%d' % (a.prefix.encode(), i), partition=0)
    left = p.flush(15)
    print('produced %d' % left, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command')
    ap.add_argument('--bootstrap', required=True)  # one host:port or several, comma-separated
    ap.add_argument('--topic', default='t')
    ap.add_argument('--out-topic', dest='out_topic', default='t-out')
    ap.add_argument('--group', default='g')
    ap.add_argument('--txn-id', dest='txn_id', default='txn')
    ap.add_argument('--count', type=int, default=0)
    ap.add_argument('--partitions', type=int, default=1)
    ap.add_argument('--batch', type=int, default=1000)
    ap.add_argument('--seconds', type=int, default=60)
    ap.add_argument('--isolation', default='read_committed')
    ap.add_argument('--prefix', default='out-')
    # ctp: a 'commit' line per committed transaction; output partitions (Ctp.out_partition); hold one
    # transaction open (Ctp.transact).
    ap.add_argument('--commit-lines', dest='commit_lines', action='store_true')
    ap.add_argument('--spread', action='store_true')
    ap.add_argument('--hold-after', dest='hold_after', type=int, default=None)
    ap.add_argument('--hold-ms', dest='hold_ms', type=int, default=500)
    a = ap.parse_args()
    {'produce-input': cmd_produce_input, 'ctp': cmd_ctp, 'read': cmd_read, 'fence': cmd_fence,
     'txn-produce': cmd_txn_produce, 'abandon': cmd_abandon}[a.command](a)


if __name__ == '__main__':
    main()
