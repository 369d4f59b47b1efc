#!/usr/bin/python3
"""confluent-kafka-python's own schema registry client and serializers against Ferry's registry,
for test/clients/schema-registry-python.test.ts.

Run with Debian's /usr/bin/python3 (python3-confluent-kafka 1.7, python3-jsonschema,
python3-protobuf). Each subcommand prints one JSON object (its observations) as the last line of
stdout; the Node test makes the assertions. Avro is left out: 1.7's Avro serializer needs fastavro,
which Debian does not package.
"""
import argparse
import json
import struct
import sys
import time

from confluent_kafka import (Consumer, DeserializingConsumer, Producer,
                             SerializingProducer, TopicPartition)
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

COMMON = {'socket.timeout.ms': 10000, 'topic.metadata.refresh.interval.ms': 1000}

ORDER_JSON = json.dumps({
    '$schema': 'http://json-schema.org/draft-07/schema#', 'title': 'Order', 'type': 'object',
    'properties': {'id': {'type': 'integer'}, 'item': {'type': 'string'}, 'qty': {'type': 'integer'}},
    'required': ['id', 'item'],
})


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def header(schema_id):
    """Confluent's wire-format prefix: magic byte 0 and the schema id, big-endian."""
    return struct.pack('>bI', 0, schema_id)


def header_id(value):
    magic, schema_id = struct.unpack('>bI', value[:5])
    return schema_id if magic == 0 else None


def registry_error(fn):
    """Runs fn; returns (result, None) or (None, {http, code}) of a SchemaRegistryError."""
    try:
        return fn(), None
    except SchemaRegistryError as e:
        return None, {'http': e.http_status_code, 'code': e.error_code, 'message': e.error_message}


def produce_values(producer, topic, values):
    """Produces each value (a dict for a SerializingProducer, bytes for a Producer) and flushes;
    returns one report per value: {'offset'} or {'error', 'name'}."""
    reports = [None] * len(values)

    def on_delivery(i):
        def cb(err, msg):
            reports[i] = ({'error': err.code(), 'name': err.name()} if err is not None
                          else {'offset': msg.offset()})
        return cb

    for i, v in enumerate(values):
        producer.produce(topic, value=v, on_delivery=on_delivery(i))
        producer.poll(0)
    left = producer.flush(30)
    if left:
        log('not flushed:', left)
    return reports


def raw_producer(bootstrap):
    # No retries: a refused record must come back as the broker's error, at once.
    return Producer(dict(COMMON, **{'bootstrap.servers': bootstrap, 'linger.ms': 0, 'retries': 0}))


def consume(bootstrap, topic, n, deserializer=None, timeout_s=30):
    """Reads partition 0 from the start until n records; returns their (offset, raw value, value)."""
    conf = dict(COMMON, **{'bootstrap.servers': bootstrap, 'group.id': 'sr-py-%s-%d' % (topic, time.time()),
                           'enable.auto.commit': False})
    out = []
    if deserializer is None:
        c = Consumer(conf)
    else:
        c = DeserializingConsumer(dict(conf, **{'value.deserializer': deserializer}))
    c.assign([TopicPartition(topic, 0, 0)])
    deadline = time.time() + timeout_s
    while len(out) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            log('consume error', m.error())
            continue
        out.append(m)
    c.close()
    return out


def refusals(bootstrap, topic, values):
    """Produces raw values one request at a time (a refused record fails its whole batch, as in
    Kafka); returns one report per value."""
    p = raw_producer(bootstrap)
    return [produce_values(p, topic, [v])[0] for v in values]


def mixed_batch(bootstrap, topic, values):
    """Produces values in one batch; returns one report per value. The batch is sent when it holds
    every value (batch.num.messages), not when a linger runs out: on a loaded machine a 200 ms
    linger once expired between two produce() calls and split the batch."""
    p = Producer(dict(COMMON, **{'bootstrap.servers': bootstrap, 'linger.ms': 10000,
                                 'batch.num.messages': len(values), 'retries': 0}))
    return produce_values(p, topic, values)


def cmd_json(a):
    client = SchemaRegistryClient({'url': a.registry})
    ser = JSONSerializer(ORDER_JSON, client)
    subject = a.topic + '-value'
    records = [{'id': i, 'item': 'item-%d' % i, 'qty': i % 7} for i in range(a.count)]
    p = SerializingProducer(dict(COMMON, **{'bootstrap.servers': a.bootstrap, 'value.serializer': ser}))
    reports = produce_values(p, a.topic, records)
    latest = client.get_latest_version(subject)
    by_id = client.get_schema(latest.schema_id)
    looked_up = client.lookup_schema(subject, Schema(ORDER_JSON, 'JSON'))
    got = consume(a.bootstrap, a.topic, a.count, JSONDeserializer(ORDER_JSON))
    raw = consume(a.bootstrap, a.topic, a.count)
    valid = json.dumps({'id': 1, 'item': 'x'}).encode()
    bad = refusals(a.bootstrap, a.topic, [
        header(latest.schema_id) + json.dumps({'id': 'not-a-number', 'item': 5}).encode(),
        header(latest.schema_id) + b'{"id": 1, "item": ',  # not JSON at all
        header(987654) + valid,  # no such schema id
        valid,  # no header
        header(latest.schema_id) + valid,  # a good one after the refusals
    ])
    # A good and a bad record in one batch: the batch is refused whole; the next good one follows.
    mixed = mixed_batch(a.bootstrap, a.topic, [header(latest.schema_id) + valid, header(987654) + valid])
    after = refusals(a.bootstrap, a.topic, [header(latest.schema_id) + valid])
    return {
        'delivered': sum(1 for r in reports if r and 'offset' in r),
        'deliveryErrors': [r for r in reports if r and 'error' in r],
        'offsets': [r.get('offset') for r in reports if r],
        'schemaId': latest.schema_id, 'version': latest.version, 'subject': latest.subject,
        'schemaType': latest.schema.schema_type, 'byIdType': by_id.schema_type,
        'byIdEqual': json.loads(by_id.schema_str) == json.loads(ORDER_JSON),
        'lookupId': looked_up.schema_id, 'lookupVersion': looked_up.version,
        'consumed': len(got), 'equal': [m.value() for m in got] == records,
        'headerIds': sorted(set(header_id(m.value()) for m in raw)),
        'refusals': bad, 'mixedBatch': mixed, 'after': after,
    }


def cmd_compat(a):
    """Compatibility levels and checks through the client, on the subject cmd_json registered."""
    client = SchemaRegistryClient({'url': a.registry})
    subject = a.topic + '-value'
    base = json.loads(ORDER_JSON)
    changed_type = dict(base, properties=dict(base['properties'], id={'type': 'string'}))
    described = dict(base, description='an order, described')
    global_level = client.get_compatibility()
    set_result = client.set_compatibility(subject, 'FULL')
    level = client.get_compatibility(subject)
    compatible = client.test_compatibility(subject, Schema(json.dumps(described), 'JSON'))
    incompatible = client.test_compatibility(subject, Schema(json.dumps(changed_type), 'JSON'))
    _, register_err = registry_error(lambda: client.register_schema(subject, Schema(json.dumps(changed_type), 'JSON')))
    _, invalid_err = registry_error(lambda: client.register_schema(subject, Schema('{"type": "no-such-type"}', 'JSON')))
    _, missing_subject = registry_error(lambda: client.get_latest_version('no-such-subject-value'))
    _, missing_id = registry_error(lambda: client.get_schema(987654))
    _, bad_level = registry_error(lambda: client.set_compatibility(subject, 'SIDEWAYS'))
    new_id, _ = registry_error(lambda: client.register_schema(subject, Schema(json.dumps(described), 'JSON')))
    versions = client.get_versions(subject)
    return {
        'globalLevel': global_level, 'setResult': set_result, 'level': level,
        'compatible': compatible, 'incompatible': incompatible,
        'registerIncompatible': register_err, 'registerInvalid': invalid_err,
        'missingSubject': missing_subject, 'missingId': missing_id, 'badLevel': bad_level,
        'compatibleId': new_id, 'versions': versions,
    }


ORDER_PROTO = '''syntax = "proto3";
package ferry.test;

message Order {
  int64 id = 1;
  string item = 2;
  int32 qty = 3;
  repeated string tags = 4;
}

message Shipment {
  int64 order_id = 1;
  string carrier = 2;
}
'''


def order_proto_classes():
    """The message classes of ORDER_PROTO, built from its descriptor (no protoc here)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name='order.proto', package='ferry.test', syntax='proto3')
    order = fdp.message_type.add(name='Order')
    order.field.add(name='id', number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    order.field.add(name='item', number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    order.field.add(name='qty', number=3, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    order.field.add(name='tags', number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    ship = fdp.message_type.add(name='Shipment')
    ship.field.add(name='order_id', number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    ship.field.add(name='carrier', number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)

    def cls(name):
        desc = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, 'GetMessageClass'):  # protobuf >= 4.21
            return message_factory.GetMessageClass(desc)
        return message_factory.MessageFactory(pool).GetPrototype(desc)
    return cls('ferry.test.Order'), cls('ferry.test.Shipment')


def orders(Order, n):
    return [Order(id=i, item='item-%d' % i, qty=i % 7, tags=['t%d' % (i % 3)]) for i in range(n)]


def protobuf_roundtrip(a, Order, reports, sid):
    """What the records of a run look like once consumed (raw and with ProtobufDeserializer)."""
    records = orders(Order, a.count)
    got = consume(a.bootstrap, a.topic, a.count, ProtobufDeserializer(Order))
    raw = consume(a.bootstrap, a.topic, a.count)
    return {
        'delivered': sum(1 for r in reports if r and 'offset' in r),
        'deliveryErrors': [r for r in reports if r and 'error' in r],
        'offsets': [r.get('offset') for r in reports if r],
        'schemaId': sid, 'consumed': len(got),
        'equal': [m.value().SerializeToString() for m in got] == [r.SerializeToString() for r in records],
        'headerIds': sorted(set(header_id(m.value()) for m in raw)),
        'indexBytes': sorted(set(m.value()[5:6].hex() for m in raw)),
    }


def cmd_protobuf_serializer(a):
    """ProtobufSerializer end to end: it registers the file as a base64 FileDescriptorProto (all
    confluent-kafka-python versions do; Confluent's registry parses it as such)."""
    client = SchemaRegistryClient({'url': a.registry})
    Order, _ = order_proto_classes()
    ser = ProtobufSerializer(Order, client)
    records = orders(Order, a.count)
    try:
        first = ser(records[0], SerializationContext(a.topic, MessageField.VALUE))
    except SchemaRegistryError as e:
        return {'registerError': {'http': e.http_status_code, 'code': e.error_code, 'message': e.error_message}}
    p = SerializingProducer(dict(COMMON, **{'bootstrap.servers': a.bootstrap, 'value.serializer': ser}))
    reports = produce_values(p, a.topic, records)
    latest = client.get_latest_version(a.topic + '-value')
    out = protobuf_roundtrip(a, Order, reports, header_id(first))
    out.update({'latestId': latest.schema_id, 'version': latest.version, 'schemaType': latest.schema.schema_type})
    return out


def cmd_protobuf(a):
    """The schema registered as .proto text through the client; records in the wire format 1.7's
    ProtobufSerializer writes (header, message indexes as unsigned varints, the message), read back
    with ProtobufDeserializer; then the records the broker must refuse."""
    client = SchemaRegistryClient({'url': a.registry})
    Order, Shipment = order_proto_classes()
    subject = a.topic + '-value'
    sid = client.register_schema(subject, Schema(ORDER_PROTO, 'PROTOBUF'))
    again = client.register_schema(subject, Schema(ORDER_PROTO, 'PROTOBUF'))
    latest = client.get_latest_version(subject)
    looked_up = client.lookup_schema(subject, Schema(ORDER_PROTO, 'PROTOBUF'))
    values = [header(sid) + b'\x00' + r.SerializeToString() for r in orders(Order, a.count)]
    reports = produce_values(raw_producer(a.bootstrap), a.topic, values)
    out = protobuf_roundtrip(a, Order, reports, sid)
    good = Order(id=1, item='x').SerializeToString()
    shipment = Shipment(order_id=7, carrier='post').SerializeToString()
    out.update({
        'again': again, 'latestId': latest.schema_id, 'version': latest.version,
        'schemaType': latest.schema.schema_type, 'lookupId': looked_up.schema_id,
        'refusals': refusals(a.bootstrap, a.topic, [
            header(sid) + b'\x00' + b'\x0a\x05hello',  # field 1 (int64) as a length-delimited string
            header(sid) + b'\x00' + b'\x12\x10abc',  # field 2 (string) longer than the payload
            header(sid) + b'\x02\x0a' + good,  # message index [5]: there is no such message
            header(987654) + b'\x00' + good,  # no such schema id
            header(sid) + b'\x00' + good,  # a good one after the refusals
        ]),
        # The second message, Shipment, is index [1]: Confluent's format (zigzag varints) writes
        # 02 02; 1.7's serializer writes 01 01 (unsigned), which a zigzag reader takes as count -1.
        'shipment': refusals(a.bootstrap, a.topic, [
            header(sid) + b'\x02\x02' + shipment,
            header(sid) + b'\x01\x01' + shipment,
        ]),
    })
    return out


def registry_conf(a, **extra):
    """The client's settings for an https registry: the CA, a client certificate, Basic credentials."""
    conf = {'url': a.registry}
    if a.ca:
        conf['ssl.ca.location'] = a.ca
    if a.cert:
        conf['ssl.certificate.location'] = a.cert
        conf['ssl.key.location'] = a.key
    if a.user:
        conf['basic.auth.user.info'] = a.user
    conf.update(extra)
    return conf


def cmd_tls(a):
    """Over https: registers through JSONSerializer, produces to a validated topic, reads back; then
    the same with a client that does not trust the registry's CA."""
    client = SchemaRegistryClient(registry_conf(a))
    ser = JSONSerializer(ORDER_JSON, client)
    records = [{'id': i, 'item': 'item-%d' % i} for i in range(a.count)]
    p = SerializingProducer(dict(COMMON, **{'bootstrap.servers': a.bootstrap, 'value.serializer': ser}))
    reports = produce_values(p, a.topic, records)
    latest = client.get_latest_version(a.topic + '-value')
    got = consume(a.bootstrap, a.topic, a.count, JSONDeserializer(ORDER_JSON))
    untrusted = SchemaRegistryClient({'url': a.registry})
    try:
        untrusted.get_subjects()
        untrusted_error = None
    except Exception as e:  # requests' SSLError: the CA is not in the default trust store
        untrusted_error = type(e).__name__
    return {
        'delivered': sum(1 for r in reports if r and 'offset' in r),
        'deliveryErrors': [r for r in reports if r and 'error' in r],
        'schemaId': latest.schema_id, 'version': latest.version,
        'consumed': len(got), 'equal': [m.value() for m in got] == records,
        'subjects': client.get_subjects(),
        'untrustedError': untrusted_error,
    }


COMMANDS = {'json': cmd_json, 'compat': cmd_compat, 'protobuf': cmd_protobuf,
            'protobuf-serializer': cmd_protobuf_serializer, 'tls': cmd_tls}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=sorted(COMMANDS))
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--registry', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, default=100)
    ap.add_argument('--ca')
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--user', help='user:password for HTTP Basic')
    a = ap.parse_args()
    started = time.time()
    result = COMMANDS[a.command](a)
    result['elapsedMs'] = round((time.time() - started) * 1000)
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
