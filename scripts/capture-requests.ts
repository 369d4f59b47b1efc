// Records request frames from real Kafka clients as golden vectors.
//   node --import tsx scripts/capture-requests.ts --port 19092 --client kcat [--out test/protocol/golden]
// Listens on 127.0.0.1:<port>, answers just enough (ApiVersions, Metadata with one partition per
// requested topic led by itself, Produce, InitProducerId, FindCoordinator) for a client to go on, and
// writes the first frame of each api key/version to <out>/<apiKey>-<version>-request-<client>.bin
// (the frame without its 4-byte size prefix). Stops on SIGINT/SIGTERM.
import { createServer, type Socket } from 'node:net';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FrameDecoder } from '../src/protocol/frame.js';
import { Reader, Writer } from '../src/protocol/primitives.js';
import { decodeRequestHeader, encodeResponseHeader } from '../src/protocol/headers.js';
import { API_TABLE, ApiKey } from '../src/protocol/messages/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '19092' },
    client: { type: 'string' },
    out: { type: 'string', default: 'test/protocol/golden' },
    overwrite: { type: 'boolean', default: false },
  },
});
if (!values.client || !/^[a-z0-9._-]+$/.test(values.client)) {
  console.error('capture-requests: --client <name> (lowercase, [a-z0-9._-]) is required');
  process.exit(2);
}
const client = values.client;
const port = Number(values.port);
const outDir = resolve(values.out!);
mkdirSync(outDir, { recursive: true });

function respond(apiKey: number, version: number, body: any): object {
  switch (apiKey) {
    case ApiKey.ApiVersions:
      return { errorCode: 0, apiKeys: [...API_TABLE.values()].map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) };
    case ApiKey.Metadata: {
      const names: string[] = (body.topics ?? []).map((t: { name: string | null }) => t.name ?? 'unknown');
      return {
        brokers: [{ nodeId: 0, host: '127.0.0.1', port }],
        clusterId: 'capture',
        controllerId: 0,
        topics: names.map((name) => ({
          errorCode: 0,
          name,
          topicId: Buffer.from(name.padEnd(16, '_').slice(0, 16)).toString('hex'),
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0] }],
        })),
      };
    }
    case ApiKey.Produce:
      return {
        responses: body.topicData.map((t: { name: string; partitionData: { index: number }[] }) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0n, logStartOffset: 0n })),
        })),
      };
    case ApiKey.InitProducerId:
      return { producerId: 1000n, producerEpoch: 0 };
    case ApiKey.FindCoordinator:
      return { nodeId: 0, host: '127.0.0.1', port, coordinators: (body.coordinatorKeys ?? []).map((key: string) => ({ key, nodeId: 0, host: '127.0.0.1', port })) };
    default:
      return {};
  }
}

function onFrame(socket: Socket, frame: Buffer): void {
  const r = new Reader(frame);
  const h = decodeRequestHeader(r);
  const api = API_TABLE.get(h.apiKey);
  const file = join(outDir, `${h.apiKey}-${h.apiVersion}-request-${client}.bin`);
  if (values.overwrite || !existsSync(file)) {
    writeFileSync(file, frame);
    console.log(`captured ${api?.name ?? 'unknown'} v${h.apiVersion} -> ${file}`);
  }
  if (!api) return;
  let version = h.apiVersion;
  let response: object;
  if (version < api.minVersion || version > api.maxVersion) {
    if (h.apiKey !== ApiKey.ApiVersions) return;
    version = 0; // KIP-511: answer with a v0 body listing the supported versions
    response = { ...respond(h.apiKey, 0, {}), errorCode: 35 };
  } else {
    const body = api.decodeRequest(r, version);
    if (r.error) console.log(`decode error for ${api.name} v${version}: ${r.error}`);
    if (h.apiKey === ApiKey.Produce && body.acks === 0) return;
    response = respond(h.apiKey, version, body);
  }
  const w = new Writer();
  const at = w.reserveInt32();
  encodeResponseHeader(w, api.responseHeaderVersion(version), h.correlationId);
  api.encodeResponse(w, version, response);
  w.patchInt32(at, w.length - 4);
  socket.write(w.toBuffer());
}

const server = createServer((socket) => {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) onFrame(socket, frame);
  });
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1', () => console.log(`capture-requests: listening on 127.0.0.1:${port} for ${client}`));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.close(() => process.exit(0)));
