"""kafka-python sends requests Ferry has codecs for but does not serve, on one connection, and
prints what came back as JSON: Fetch v3 (message format v0/v1, refused as Kafka 4.0 does) and
then Metadata v1 on the same connection, to show it stayed open."""
import json
import sys
import time

from kafka.client_async import KafkaClient
from kafka.protocol.fetch import FetchRequest
from kafka.protocol.metadata import MetadataRequest


def wait(client, future, timeout=10):
    deadline = time.time() + timeout
    while not future.is_done and time.time() < deadline:
        client.poll(timeout_ms=100, future=future)
    if not future.is_done:
        raise SystemExit('no answer')
    if future.failed():
        return {'failed': repr(future.exception)}
    return {'value': future.value}


def main():
    bootstrap = sys.argv[1]
    client = KafkaClient(bootstrap_servers=bootstrap, client_id='kp-unsupported')
    node = client.least_loaded_node()
    deadline = time.time() + 10
    while not client.ready(node) and time.time() < deadline:
        client.poll(timeout_ms=100)
    out = {'brokerVersion': '.'.join(map(str, client.config['api_version']))}
    fetch = wait(client, client.send(node, FetchRequest[3](-1, 100, 1, 1024, [('kp-unsupported', [(0, 0, 1024), (1, 0, 1024)])])))
    if 'value' in fetch:
        out['fetchV3'] = [[t, [[p[0], p[1]] for p in parts]] for t, parts in fetch['value'].topics]
    else:
        out['fetchV3Failed'] = fetch['failed']
    meta = wait(client, client.send(node, MetadataRequest[1]([])))
    out['metadataAfter'] = 'value' in meta and len(meta['value'].brokers)
    client.close()
    print(json.dumps(out))


main()
