// The broker configuration schema: one table, from which loading, validation, the typed config
// object and docs/configuration.md are all derived. Keys use Kafka's names where Kafka has one.
//
// API: CONFIG_SCHEMA (readonly ConfigKeySpec[]), CONFIG_SPECS (Map key -> spec), ConfigKeySpec,
//      ConfigType, ConfigValue, fieldNameOf(key), envNameOf(key), isSecretKey(key), formatConfigValue

import { posix } from 'node:path';
import { formatListener, type Listener } from './config-values.js';

export type ConfigType =
  | 'string' | 'int' | 'long' | 'double' | 'bool' | 'list' | 'enum' | 'bytes' | 'duration' | 'path' | 'listeners' | 'hostport';

export type ConfigValue = string | number | boolean | string[] | Listener[] | null;

/** A default computed from other (already resolved) values, e.g. wal.path from data.dir. */
export interface DerivedDefault {
  /** How the docs show it (Markdown), e.g. "`<data.dir>/wal/ferry.wal`". */
  describe: string;
  derive(get: (key: string) => ConfigValue): ConfigValue;
}

export interface ConfigKeySpec {
  key: string;
  type: ConfigType;
  group: string;
  default: ConfigValue | DerivedDefault;
  doc: string;
  /** null is a valid value (an empty string in a file or variable means null). */
  nullable?: boolean;
  /** For enum. */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Extra check of the parsed value: returns what was expected, or undefined if fine. */
  check?: (value: ConfigValue) => string | undefined;
  /** May also be set for one listener, as listener.name.<listener>.<key> (Kafka's listener prefix). */
  perListener?: boolean;
  /** May also be set for one listener and SASL mechanism: listener.name.<listener>.<mechanism>.<key>. */
  perMechanism?: boolean;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export const SECURITY_PROTOCOL_NAMES = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const AUTHORIZER_NAMES = ['ferry', 'kafka.security.authorizer.AclAuthorizer', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'];
const INT_MAX = 2147483647;

const derived = (describe: string, derive: DerivedDefault['derive']): DerivedDefault => ({ describe, derive });

export const CONFIG_SCHEMA: readonly ConfigKeySpec[] = [
  // ---- broker identity and network
  { key: 'node.id', type: 'int', group: 'Broker', default: 1, min: 0, doc: 'This broker\'s id, unique in the cluster.' },
  {
    key: 'cluster.name', type: 'string', group: 'Broker', default: 'ferry',
    doc: 'Name of the cluster; every metadata key lives under /ferry/<cluster.name>/.',
    check: (v) => (/^[A-Za-z0-9._-]{1,64}$/.test(v as string) ? undefined : '1 to 64 characters of A-Z a-z 0-9 . _ -'),
  },
  { key: 'rack', type: 'string', group: 'Broker', default: null, nullable: true, doc: 'Rack or availability zone of this broker, reported to clients (rack-aware consumers) and used to spread partition leaders.' },
  {
    key: 'listeners', type: 'listeners', group: 'Broker', default: 'PLAINTEXT://localhost:9092',
    doc: 'Where the broker listens for Kafka clients, as NAME://host:port (comma-separated), e.g. PLAINTEXT://:9092,SSL://:9093,SASL_SSL://:9094. Each name\'s security protocol comes from listener.security.protocol.map. Port 0 picks a free port. A host of 0.0.0.0 (or empty) binds all interfaces and then requires advertised.listeners.',
  },
  {
    key: 'advertised.listeners', type: 'listeners', group: 'Broker',
    default: derived('same as `listeners`', (get) => get('listeners')),
    doc: 'The addresses clients are told to connect to (Metadata, FindCoordinator), as NAME://host:port. Must name a real host, not 0.0.0.0.',
  },
  { key: 'socket.request.max.bytes', type: 'bytes', group: 'Broker', default: 104857600, min: 1024, max: INT_MAX, doc: 'Largest request frame accepted; a larger size prefix closes the connection before anything is allocated.' },
  { key: 'connections.max', type: 'int', group: 'Broker', default: 10000, min: 1, doc: 'Most client connections open at once; further connections are closed on accept.' },
  { key: 'shutdown.timeout.ms', type: 'duration', group: 'Broker', default: 30000, min: 0, doc: 'How long a graceful shutdown (SIGTERM) waits for in-flight requests before closing connections.' },
  { key: 'max.connections.per.ip', type: 'int', group: 'Broker', default: INT_MAX, min: 0, doc: 'Most connections open at once from one client address; further ones are closed on accept (logged at most every 10 s, counted in ferry_connections_refused_total).' },
  {
    key: 'max.connections.per.ip.overrides', type: 'list', group: 'Broker', default: [],
    doc: 'Per-address exceptions to max.connections.per.ip, as Kafka writes them: host:count,host:count (an IP address or a host name, resolved when the broker starts; e.g. 10.0.0.5:200,loadgen.internal:1000).',
    check: (v) => checkConnectionOverrides(v as string[]),
  },
  { key: 'connections.max.idle.ms', type: 'duration', group: 'Broker', default: 600000, min: -1, doc: 'A connection with no request being handled and no bytes received or sent for this long is closed (logged). -1: never.', check: notZero },
  {
    key: 'request.receive.timeout.ms', type: 'duration', group: 'Broker', default: 30000, min: -1, check: notZero,
    doc: 'How long a request may take to arrive once its first bytes have: a connection holding a partly received request for longer is closed (logged), so truncated or trickled requests do not hold memory. Only time the broker is reading counts (not while it holds the connection back). Kafka has no such key; its connections.max.idle.ms alone would keep them 10 minutes. -1: no limit.',
  },
  {
    key: 'queued.max.request.bytes', type: 'bytes', group: 'Broker', default: 536870912, min: -1, check: notZero,
    doc: 'Bytes all partly received requests may reserve together: a request arriving in pieces reserves its declared size (the memory itself grows only with what has arrived) and, while it cannot, the broker stops reading that connection. One request may always proceed alone. -1: no limit (Kafka\'s default).',
  },
  {
    key: 'socket.send.queue.max.bytes', type: 'bytes', group: 'Broker', default: 67108864, min: -1, check: notZero,
    doc: 'Response bytes one connection may hold (being built, waiting in order, or in the socket buffer, not yet taken by the kernel) before the broker stops handling its further requests and reading from it, as Kafka mutes a channel; it resumes as the client reads. A Fetch response is also cut to fit. A connection holding nothing may always send one request. -1: no limit.',
  },
  {
    key: 'queued.max.response.bytes', type: 'bytes', group: 'Broker', default: 268435456, min: -1, check: notZero,
    doc: 'Response bytes all connections may hold together (as socket.send.queue.max.bytes counts them); above it, connections that already hold bytes stop handling further requests until it drops, and Fetch responses shrink to a single batch. -1: no limit.',
  },

  // ---- security (TLS, SASL, ACLs, quotas; docs/security.md)
  {
    key: 'listener.security.protocol.map', type: 'list', group: 'Security',
    default: ['PLAINTEXT:PLAINTEXT', 'SSL:SSL', 'SASL_PLAINTEXT:SASL_PLAINTEXT', 'SASL_SSL:SASL_SSL'],
    doc: 'Security protocol of each listener name, as NAME:PROTOCOL pairs (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), e.g. INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_SSL.',
    check: (v) => checkProtocolMap(v as string[]),
  },
  { key: 'inter.broker.listener.name', type: 'string', group: 'Security', default: null, nullable: true, doc: 'The listener brokers use to reach each other (transaction markers): its advertised address and security settings. Unset: the first of listeners. Its principal should be in super.users when an authorizer is on.' },
  { key: 'sasl.enabled.mechanisms', type: 'list', group: 'Security', default: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], perListener: true, doc: 'SASL mechanisms SASL listeners accept: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (Kafka\'s default is GSSAPI, which Ferry does not offer).', check: (v) => checkMechanisms(v as string[]) },
  { key: 'sasl.mechanism.inter.broker.protocol', type: 'enum', group: 'Security', values: SASL_MECHANISMS, default: 'PLAIN', doc: 'The mechanism a broker authenticates with to other brokers when inter.broker.listener.name is a SASL listener; the credentials come from that listener\'s sasl.jaas.config (username and password options).' },
  {
    key: 'sasl.jaas.config', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, perMechanism: true,
    doc: 'JAAS login module settings as Kafka writes them, e.g. org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="..." user_admin="..." user_alice="...";. PLAIN checks user_<name> entries (then SCRAM credentials); username/password are this broker\'s own credentials to other brokers. Usually set per listener and mechanism: listener.name.<listener>.<mechanism>.sasl.jaas.config. Never logged.',
  },
  { key: 'sasl.oauthbearer.jwks.endpoint.url', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'OAUTHBEARER: where the JSON Web Key Set that signs tokens is (https:// URL, file:// URL or a path). Unset: unsecured JWS tokens (alg none) are accepted, as Kafka\'s default OAUTHBEARER validator does: only for tests.' },
  { key: 'sasl.oauthbearer.expected.audience', type: 'list', group: 'Security', default: [], perListener: true, doc: 'OAUTHBEARER: a token must name one of these in its aud claim (empty: not checked).' },
  { key: 'sasl.oauthbearer.expected.issuer', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'OAUTHBEARER: a token\'s iss claim must equal this (unset: not checked).' },
  { key: 'sasl.oauthbearer.sub.claim.name', type: 'string', group: 'Security', default: 'sub', perListener: true, doc: 'OAUTHBEARER: the claim naming the principal.' },
  { key: 'sasl.oauthbearer.scope.claim.name', type: 'string', group: 'Security', default: 'scope', perListener: true, doc: 'OAUTHBEARER: the claim holding the token\'s scopes.' },
  { key: 'sasl.oauthbearer.clock.skew.seconds', type: 'int', group: 'Security', default: 30, min: 0, perListener: true, doc: 'OAUTHBEARER: clock difference tolerated when checking exp, nbf and iat.' },
  { key: 'sasl.oauthbearer.jwks.endpoint.refresh.ms', type: 'duration', group: 'Security', default: 3600000, min: 1000, perListener: true, doc: 'OAUTHBEARER: how often the JWKS is fetched again (also at most every 10 s when a token names an unknown key id).' },
  { key: 'connections.max.reauth.ms', type: 'long', group: 'Security', default: 0, min: 0, perListener: true, doc: 'KIP-368: a SASL session lasts at most this long (and never past its token\'s expiry); the client must re-authenticate on the connection, or it is closed on its next request. 0: sessions do not expire.' },
  { key: 'ssl.keystore.type', type: 'enum', group: 'Security', values: ['PEM'], default: 'PEM', perListener: true, doc: 'Only PEM: the key and certificate chain are PEM text (convert a JKS or PKCS12 keystore with keytool/openssl).' },
  { key: 'ssl.keystore.location', type: 'path', group: 'Security', default: null, nullable: true, perListener: true, doc: 'PEM file holding the listener\'s private key and certificate chain (server certificate first). Watched: a replaced file is loaded for new connections without a restart (a broken one is logged and the old certificate kept).' },
  { key: 'ssl.keystore.certificate.chain', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'The certificate chain as PEM text, instead of ssl.keystore.location.' },
  { key: 'ssl.keystore.key', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'The private key as PEM text, instead of ssl.keystore.location. Never logged.' },
  { key: 'ssl.key.password', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'Password of an encrypted private key. Never logged.' },
  { key: 'ssl.truststore.type', type: 'enum', group: 'Security', values: ['PEM'], default: 'PEM', perListener: true, doc: 'Only PEM: the trusted CA certificates are PEM text.' },
  { key: 'ssl.truststore.location', type: 'path', group: 'Security', default: null, nullable: true, perListener: true, doc: 'PEM file of the CA certificates client certificates must chain to (ssl.client.auth). Watched like ssl.keystore.location.' },
  { key: 'ssl.truststore.certificates', type: 'string', group: 'Security', default: null, nullable: true, perListener: true, doc: 'The trusted CA certificates as PEM text, instead of ssl.truststore.location.' },
  { key: 'ssl.client.auth', type: 'enum', group: 'Security', values: ['required', 'requested', 'none'], default: 'none', perListener: true, doc: 'Client certificates on SSL listeners: required (refused without one), requested (asked for; clients without one connect as User:ANONYMOUS), none. A client certificate\'s subject is the principal (after ssl.principal.mapping.rules).' },
  { key: 'ssl.principal.mapping.rules', type: 'string', group: 'Security', default: 'DEFAULT', perListener: true, doc: 'How a client certificate\'s subject (RFC 2253, e.g. CN=alice,OU=eng,O=Acme) becomes the principal name: Kafka\'s RULE:pattern/replacement/[LU] rules, comma-separated, first match wins; DEFAULT keeps the whole subject.' },
  { key: 'ssl.enabled.protocols', type: 'list', group: 'Security', default: ['TLSv1.2', 'TLSv1.3'], perListener: true, doc: 'TLS versions offered: TLSv1.2 and/or TLSv1.3 (older versions are refused).', check: (v) => ((v as string[]).length > 0 && (v as string[]).every((p) => p === 'TLSv1.2' || p === 'TLSv1.3') ? undefined : 'TLSv1.2 and/or TLSv1.3') },
  { key: 'ssl.endpoint.identification.algorithm', type: 'string', group: 'Security', default: 'https', nullable: true, doc: 'When this broker connects to other brokers over TLS (inter.broker.listener.name): https checks that their certificate names the host it connects to; empty: the chain is checked, the name is not.', check: (v) => (v === null || v === 'https' ? undefined : 'https or empty') },
  { key: 'ssl.cipher.suites', type: 'list', group: 'Security', default: [], perListener: true, doc: 'OpenSSL cipher names allowed for TLS 1.2 (empty: Node\'s defaults).' },
  {
    key: 'authorizer.class.name', type: 'string', group: 'Security', default: null, nullable: true,
    doc: 'Turns ACLs on: ferry, or Kafka\'s class names (kafka.security.authorizer.AclAuthorizer, org.apache.kafka.metadata.authorizer.StandardAuthorizer), which mean the same. ACLs are kept in the metadata store, shared by every broker of the cluster. Unset: every request is allowed.',
    check: (v) => (v === null || AUTHORIZER_NAMES.includes(v as string) ? undefined : AUTHORIZER_NAMES.join(', ')),
  },
  { key: 'super.users', type: 'string', group: 'Security', default: null, nullable: true, doc: 'Principals every ACL check allows, semicolon-separated as Kafka writes them: User:admin;User:broker.', check: (v) => checkSuperUsers(v as string | null) },
  { key: 'allow.everyone.if.no.acl.found', type: 'bool', group: 'Security', default: false, doc: 'With an authorizer: allow a request on a resource that has no ACL at all (false: such requests are denied).' },
  { key: 'quota.window.num', type: 'int', group: 'Security', default: 11, min: 1, doc: 'Client quotas: samples kept to measure rates.' },
  { key: 'quota.window.size.seconds', type: 'int', group: 'Security', default: 1, min: 1, doc: 'Client quotas: length of one sample.' },
  { key: 'max.connection.creation.rate', type: 'int', group: 'Security', default: INT_MAX, min: 0, perListener: true, doc: 'KIP-612: new connections a second a listener accepts; above it connections are closed on accept (counted in ferry_connections_refused_total). Per-address limits are client quotas (connection_creation_rate on an ip entity).' },

  // ---- storage
  { key: 'data.dir', type: 'path', group: 'Storage', default: './data', doc: 'Directory for the WAL (unless wal.path says otherwise), the embedded metadata store and local objects. Relative paths are resolved against the working directory.' },
  {
    key: 'wal.path', type: 'path', group: 'Storage',
    default: derived('`<data.dir>/wal/ferry.wal`', (get) => `${get('data.dir') as string}/wal/ferry.wal`),
    doc: 'The write-ahead log: a file (preallocated to wal.capacity.bytes) or a raw block device.',
  },
  { key: 'wal.capacity.bytes', type: 'bytes', group: 'Storage', default: 2147483648, min: 1048576, doc: 'Size of the WAL ring. When uploads lag and it fills, produce requests wait and then fail with a retriable error.' },
  { key: 'wal.append.timeout.ms', type: 'duration', group: 'Storage', default: 5000, min: 1, doc: 'How long an append may wait for space in a full WAL before it fails with a retriable error (REQUEST_TIMED_OUT). The WAL is then full: further produce requests are refused at once, and /readyz answers 503, until uploads free space. Keep it well below the clients\' request.timeout.ms (30 s), so they see the broker\'s answer rather than their own timeout.' },
  { key: 'cache.max.bytes', type: 'bytes', group: 'Storage', default: 1073741824, min: 0, doc: 'Memory for recently written and read batches (the log cache).' },
  { key: 'memory.max.bytes', type: 'bytes', group: 'Storage', default: null, nullable: true, min: 1048576, doc: 'Optional memory budget: the broker refuses to start when the bounds that make up its memory add up to more (runtime 160 MiB + cache.max.bytes + block.cache.max.bytes + queued.max.response.bytes + queued.max.request.bytes + upload.max.bytes + compaction.step.max.bytes + log.cleaner.dedupe.buffer.size (when log.cleaner.enable) + 2x ferry.proxy.buffer.bytes + 32 MiB of read-replica tail cache + 68 MiB of WAL buffers; `ferry config check` prints the sum). RSS stays within about 1.25x of that sum at any load (npm run bench:memory).' },

  // ---- object storage (S3 tier)
  { key: 'object.store', type: 'enum', group: 'Object storage', values: ['fs', 's3', 'azure-blob'], default: 'fs', doc: 'Where uploaded data lives: fs (files under <data.dir>/objects, the embedded default), s3 (any S3-compatible service) or azure-blob (an Azure storage account container, through the managed identity or DefaultAzureCredential).' },
  { key: 'azure.blob.account', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Storage account of the azure-blob object store (https://<account>.blob.core.windows.net).' },
  { key: 'azure.blob.container', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Container of the azure-blob object store (required when object.store=azure-blob).' },
  { key: 'azure.blob.endpoint', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Blob service URL overriding azure.blob.account (sovereign clouds, private endpoints, Azurite).' },
  { key: 'azure.blob.prefix', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Key prefix inside the container (e.g. "prod/").' },
  {
    key: 'object.store.path', type: 'path', group: 'Object storage',
    default: derived('<data.dir>/objects', (get) => `${get('data.dir') as string}/objects`),
    doc: 'Root directory of the fs object store.',
  },
  { key: 's3.bucket', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Bucket of the s3 object store (required when object.store=s3).' },
  { key: 's3.prefix', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Key prefix inside the bucket (e.g. "prod/"), so several clusters can share one bucket.' },
  { key: 's3.region', type: 'string', group: 'Object storage', default: 'us-east-1', doc: 'Region of the bucket.' },
  { key: 's3.endpoint', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Endpoint URL for S3-compatible services (Ceph radosgw, MinIO); unset for AWS.' },
  { key: 's3.force.path.style', type: 'bool', group: 'Object storage', default: false, doc: 'Path-style addressing (bucket in the path), needed by most S3-compatible services.' },
  { key: 's3.access.key.id', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Static access key; unset to use the standard AWS credential chain (environment, instance profile, ...).' },
  { key: 's3.secret.access.key', type: 'string', group: 'Object storage', default: null, nullable: true, doc: 'Secret of s3.access.key.id. Never logged.' },
  { key: 'upload.interval.ms', type: 'duration', group: 'Object storage', default: 5000, min: 10, doc: 'How often un-uploaded WAL data is written to the object store.' },
  { key: 'upload.max.bytes', type: 'bytes', group: 'Object storage', default: 67108864, min: 1024, doc: 'Upload early once this much un-uploaded data has accumulated.' },
  { key: 'upload.stream.split.bytes', type: 'bytes', group: 'Object storage', default: 8388608, min: 1024, doc: 'A partition with at least this much data in one upload gets its own stream object.' },
  { key: 'block.cache.max.bytes', type: 'bytes', group: 'Object storage', default: 268435456, min: 0, doc: 'Memory for blocks read back from the object store (LRU).' },
  { key: 'object.gc.grace.ms', type: 'duration', group: 'Object storage', default: 600000, min: 0, doc: 'How long an object that metadata no longer references (compacted, deleted, or never committed) is kept before it is deleted, so in-flight readers finish.' },
  { key: 'compaction.interval.ms', type: 'duration', group: 'Object storage', default: 60000, min: 100, doc: 'How often compaction looks for small objects to merge.' },
  { key: 'compaction.max.bytes.per.sec', type: 'bytes', group: 'Object storage', default: 52428800, min: 1024, doc: 'Rate limit of compaction reads and writes.' },
  { key: 'compaction.step.max.bytes', type: 'bytes', group: 'Object storage', default: 134217728, min: 1048576, doc: 'Memory one compaction step may use: it reads up to half of this from objects and writes merged objects of at most half.' },
  { key: 'retention.check.interval.ms', type: 'duration', group: 'Object storage', default: 30000, min: 100, doc: 'How often retention.ms and retention.bytes are applied.' },

  // ---- metadata
  { key: 'metadata.backend', type: 'enum', group: 'Metadata', values: ['local', 'etcd'], default: 'local', doc: 'local: embedded single-node store under <data.dir>/meta. etcd: a cluster coordinated through etcd.endpoints.' },
  { key: 'etcd.endpoints', type: 'list', group: 'Metadata', default: [], doc: 'etcd client URLs (http://host:2379, comma-separated); required when metadata.backend=etcd.' },
  { key: 'etcd.username', type: 'string', group: 'Metadata', default: null, nullable: true, doc: 'etcd user, if etcd has authentication enabled.' },
  { key: 'etcd.password', type: 'string', group: 'Metadata', default: null, nullable: true, doc: 'Password of etcd.username. Never logged.' },
  { key: 'broker.session.timeout.ms', type: 'duration', group: 'Metadata', default: 6000, min: 1000, doc: 'TTL of the broker\'s metadata lease: a broker that cannot renew it within this time is considered dead and stops acknowledging writes.' },

  // ---- failover (volume providers; src/failover/)
  {
    key: 'volume.provider', type: 'enum', group: 'Failover', values: ['local', 'aws-ebs', 'azure-zrs'], default: 'local',
    doc: 'How the WAL volume moves between brokers on failure: local (directories on one machine, attachment recorded in the metadata store; drills and compose), aws-ebs (EBS volumes, moved within their availability zone), azure-zrs (zone-redundant managed disks, moved to a VM in any zone).',
  },
  { key: 'volume.id', type: 'string', group: 'Failover', default: null, nullable: true, doc: 'This broker\'s WAL volume: a local volume directory name, an EBS volume id (vol-...), or an Azure disk resource id. Unset: the WAL is not managed as a movable volume (the embedded default).' },
  { key: 'instance.id', type: 'string', group: 'Failover', default: null, nullable: true, doc: 'The machine volumes attach to: for local a name per broker process (e.g. broker-1), on AWS the EC2 instance id, on Azure the VM resource id. Cloud installs set it from the instance metadata service (FERRY_INSTANCE_ID).' },
  {
    key: 'volume.local.root', type: 'path', group: 'Failover',
    default: derived('the directory above `wal.path`\'s directory when that directory is named `volume.id` (`/v/wal-1/ferry.wal` gives `/v`), else `<data.dir>/volumes`', (get) => {
      const walPath = get('wal.path') as string;
      const volumeId = get('volume.id') as string | null;
      const dir = posix.dirname(walPath);
      return volumeId !== null && posix.basename(dir) === volumeId ? posix.dirname(dir) : `${get('data.dir') as string}/volumes`;
    }),
    doc: 'Directory of the local volume provider: one directory per volume (<root>/<volume id>/, holding the WAL file), shared by every broker on the machine.',
  },
  { key: 'volume.attach.timeout.ms', type: 'duration', group: 'Failover', default: 120000, min: 1000, doc: 'How long a volume move waits for the volume to detach from the old instance and to attach to the new one.' },
  { key: 'aws.region', type: 'string', group: 'Failover', default: derived('same as `s3.region`', (get) => get('s3.region')), doc: 'Region of the EC2 API the aws-ebs provider calls.' },
  { key: 'azure.subscription.id', type: 'string', group: 'Failover', default: null, nullable: true, doc: 'Subscription of the WAL disks and broker VMs for azure-zrs (unset: taken from volume.id when it is a resource id).' },
  { key: 'azure.resource.group', type: 'string', group: 'Failover', default: null, nullable: true, doc: 'Resource group of the WAL disks for azure-zrs: used for bare disk or VM names and for discovery (unset: taken from volume.id when it is a resource id).' },

  // ---- topics and messages
  { key: 'auto.create.topics.enable', type: 'bool', group: 'Topics', default: true, doc: 'Create a topic when a client asks for an unknown one in Metadata or Produce.' },
  { key: 'num.partitions', type: 'int', group: 'Topics', default: 1, min: 1, doc: 'Partitions of an auto-created topic, and of CreateTopics requests that do not say.' },
  {
    key: 'default.replication.factor', type: 'int', group: 'Topics', default: 1,
    doc: 'Replication factor reported for topics. Only 1 is accepted: durability comes from the WAL volume and S3, not from copies on other brokers.',
    check: (v) => (v === 1 ? undefined : '1 (Ferry keeps one leader per partition; the volume and S3 provide durability)'),
  },
  { key: 'delete.topic.enable', type: 'bool', group: 'Topics', default: true, doc: 'Allow DeleteTopics.' },
  { key: 'message.max.bytes', type: 'bytes', group: 'Topics', default: 1048588, min: 0, max: INT_MAX, doc: 'Largest record batch accepted, unless the topic sets max.message.bytes.' },
  { key: 'log.retention.ms', type: 'duration', group: 'Topics', default: 604800000, min: -1, doc: 'Default retention.ms of topics: how long data is kept (-1: forever).' },
  { key: 'log.retention.bytes', type: 'bytes', group: 'Topics', default: -1, min: -1, doc: 'Default retention.bytes of topics: bytes kept per partition (-1: no limit).' },
  { key: 'log.segment.bytes', type: 'bytes', group: 'Topics', default: 1073741824, min: 14, max: INT_MAX, doc: 'Default segment.bytes of topics. Ferry has no segment files; on compacted topics uploaded data counts as the active segment (not cleaned) until this much newer data follows it or it is log.roll.ms old.' },
  { key: 'log.roll.ms', type: 'duration', group: 'Topics', default: 604800000, min: 1, doc: 'Default segment.ms of topics: on compacted topics, how old uploaded data must be before it leaves the active segment and may be cleaned (unless log.segment.bytes of newer data follow it).' },
  { key: 'log.cleanup.policy', type: 'list', group: 'Topics', default: ['delete'], doc: 'Default cleanup.policy of topics: delete, compact, or both.', check: (v) => checkCleanupPolicy(v as string[]) },
  { key: 'log.message.timestamp.type', type: 'enum', group: 'Topics', values: ['CreateTime', 'LogAppendTime'], default: 'CreateTime', doc: 'Default message.timestamp.type of topics.' },
  { key: 'compression.type', type: 'enum', group: 'Topics', values: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'producer', doc: 'Default compression.type of topics. Ferry never recompresses batches; only producer is honoured, other values are accepted and reported.' },
  { key: 'min.insync.replicas', type: 'int', group: 'Topics', default: 1, min: 1, doc: 'Default min.insync.replicas of topics (accepted and reported; with one leader per partition it is always met).' },

  // ---- log cleaner (cleanup.policy=compact)
  { key: 'log.cleaner.enable', type: 'bool', group: 'Log cleaner', default: true, doc: 'Run the log cleaner: topics whose cleanup.policy includes compact keep the latest record of each key (docs/compaction.md).' },
  { key: 'log.cleaner.backoff.ms', type: 'duration', group: 'Log cleaner', default: 15000, min: 10, doc: 'How often the cleaner looks for partitions to clean when it has nothing to do.' },
  { key: 'log.cleaner.dedupe.buffer.size', type: 'bytes', group: 'Log cleaner', default: 33554432, min: 65536, doc: 'Memory of the key map of one cleaning pass (24 bytes per key, filled to 90 %: 32 MiB holds about 1.26 M keys). A partition whose dirty data has more keys is cleaned in several passes. Kafka\'s default is 128 MiB shared by its cleaner threads; Ferry runs one pass at a time.' },
  { key: 'log.cleaner.io.max.bytes.per.second', type: 'double', group: 'Log cleaner', default: 52428800, min: 1024, doc: 'Rate limit of the cleaner\'s object reads plus writes, in bytes per second.' },
  { key: 'log.cleaner.min.cleanable.ratio', type: 'double', group: 'Log cleaner', default: 0.5, min: 0, max: 1, doc: 'Default min.cleanable.dirty.ratio of topics.' },
  { key: 'log.cleaner.min.compaction.lag.ms', type: 'long', group: 'Log cleaner', default: 0, min: 0, doc: 'Default min.compaction.lag.ms of topics.' },
  { key: 'log.cleaner.max.compaction.lag.ms', type: 'long', group: 'Log cleaner', default: Number.MAX_SAFE_INTEGER, min: 1, doc: 'Default max.compaction.lag.ms of topics.' },
  { key: 'log.cleaner.delete.retention.ms', type: 'long', group: 'Log cleaner', default: 86400000, min: 0, doc: 'Default delete.retention.ms of topics.' },

  // ---- zone-local traffic (docs/zone-local.md)
  { key: 'ferry.produce.routing', type: 'enum', group: 'Zones', values: ['leader', 'zone-local'], default: 'leader', doc: 'Default ferry.produce.routing of topics: leader, or zone-local (producers with ferry_az=<zone> in client.id write through a broker of their zone and the object store; no record byte crosses a zone).' },
  { key: 'ferry.remote.read.mode', type: 'enum', group: 'Zones', values: ['tail', 'uploaded-only', 'leader'], default: 'tail', doc: 'Default ferry.remote.read.mode of topics: how consumers in another zone than the leader read (tail, uploaded-only, or leader: no redirection).' },
  { key: 'ferry.proxy.linger.ms', type: 'duration', group: 'Zones', default: 50, min: 0, max: 60000, doc: 'Zone-local produce: how long a proxy broker gathers the batches of all partitions before it writes them as one staging object. The object store bills per request (a PUT, and a GET per leader the object serves): longer windows make fewer, larger objects, at the cost of latency. `ferry cost` prints the break-even linger of a fleet.' },
  { key: 'ferry.proxy.buffer.bytes', type: 'bytes', group: 'Zones', default: 8388608, min: 65536, max: 268435456, doc: 'Zone-local produce: a staging object is written as soon as this many bytes are gathered; also the bound of staged bytes waiting for leaders, beyond which produces are refused with a retriable error. Counts in memory.max.bytes (twice: gathering and in flight).' },
  { key: 'ferry.proxy.staging.retention.ms', type: 'duration', group: 'Zones', default: 3600000, min: 60000, doc: 'Staging objects older than this are deleted by any broker (a proxy that died before deleting its own).' },

  // ---- fetch
  { key: 'fetch.max.bytes', type: 'bytes', group: 'Fetch', default: 57671680, min: 1024, max: INT_MAX, doc: 'Upper bound on the bytes one Fetch response returns, whatever the client asks.' },
  { key: 'fetch.session.cache.slots', type: 'int', group: 'Fetch', default: 1000, min: 0, doc: 'Incremental fetch sessions kept at once (0 disables fetch sessions).' },

  // ---- consumer groups
  { key: 'group.min.session.timeout.ms', type: 'duration', group: 'Consumer groups', default: 6000, min: 0, doc: 'Smallest session timeout a member may ask for.' },
  { key: 'group.max.session.timeout.ms', type: 'duration', group: 'Consumer groups', default: 1800000, min: 0, doc: 'Largest session timeout a member may ask for.' },
  { key: 'group.initial.rebalance.delay.ms', type: 'duration', group: 'Consumer groups', default: 3000, min: 0, doc: 'How long the first rebalance of an empty group waits for more members to join.' },
  { key: 'group.max.size', type: 'int', group: 'Consumer groups', default: 2147483647, min: 1, doc: 'Most members in one group.' },
  { key: 'group.coordinator.rebalance.protocols', type: 'list', group: 'Consumer groups', default: ['classic', 'consumer'], doc: 'Group protocols the coordinator serves: classic (JoinGroup/SyncGroup) and consumer (KIP-848 ConsumerGroupHeartbeat and ConsumerGroupDescribe; without it those two APIs are not advertised). classic is always served.', check: (v) => ((v as string[]).every((x) => x === 'classic' || x === 'consumer') ? undefined : 'a list of classic, consumer') },
  { key: 'group.consumer.heartbeat.interval.ms', type: 'duration', group: 'Consumer groups', default: 5000, min: 1, doc: 'KIP-848 consumer groups: how often members heartbeat (the coordinator tells each member).' },
  { key: 'group.consumer.min.heartbeat.interval.ms', type: 'duration', group: 'Consumer groups', default: 5000, min: 1, doc: 'Smallest group.consumer.heartbeat.interval.ms allowed.' },
  { key: 'group.consumer.max.heartbeat.interval.ms', type: 'duration', group: 'Consumer groups', default: 15000, min: 1, doc: 'Largest group.consumer.heartbeat.interval.ms allowed.' },
  { key: 'group.consumer.session.timeout.ms', type: 'duration', group: 'Consumer groups', default: 45000, min: 1, doc: 'KIP-848 consumer groups: a member that does not heartbeat for this long is removed and its partitions reassigned.' },
  { key: 'group.consumer.min.session.timeout.ms', type: 'duration', group: 'Consumer groups', default: 45000, min: 1, doc: 'Smallest group.consumer.session.timeout.ms allowed.' },
  { key: 'group.consumer.max.session.timeout.ms', type: 'duration', group: 'Consumer groups', default: 60000, min: 1, doc: 'Largest group.consumer.session.timeout.ms allowed.' },
  { key: 'group.consumer.max.size', type: 'int', group: 'Consumer groups', default: 2147483647, min: 1, doc: 'Most members in one KIP-848 consumer group (GROUP_MAX_SIZE_REACHED beyond).' },
  { key: 'group.consumer.assignors', type: 'list', group: 'Consumer groups', default: ['uniform', 'range'], doc: 'Server-side assignors members may name (serverAssignor); the first is the default. Ferry has uniform and range.', check: (v) => ((v as string[]).length > 0 && (v as string[]).every((x) => x === 'uniform' || x === 'range') ? undefined : 'a non-empty list of uniform, range') },
  { key: 'offsets.retention.minutes', type: 'long', group: 'Consumer groups', default: 10080, min: 1, doc: 'Committed offsets of an empty group are deleted after this many minutes.' },

  // ---- producers
  { key: 'producer.id.expiration.ms', type: 'duration', group: 'Producers', default: 86400000, min: 1, doc: 'Idempotent-producer state of a producer id that has not written for this long is dropped.' },

  // ---- transactions
  { key: 'transaction.max.timeout.ms', type: 'duration', group: 'Transactions', default: 900000, min: 1, doc: 'Largest transaction.timeout.ms a transactional producer may ask for (InitProducerId answers INVALID_TRANSACTION_TIMEOUT above it).' },
  { key: 'transactional.id.expiration.ms', type: 'duration', group: 'Transactions', default: 604800000, min: 1, doc: 'A transactional id with no transaction for this long is forgotten.' },
  { key: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'duration', group: 'Transactions', default: 1000, min: 1, doc: 'How often the transaction coordinator aborts timed-out transactions and finishes the commits and aborts a failed coordinator left (Kafka: 10000; shorter here because it also bounds how soon transactions move on after a coordinator failover).' },

  // ---- operations
  { key: 'log.level', type: 'enum', group: 'Operations', values: LOG_LEVELS, default: 'info', doc: 'Level of the JSON log written to stdout.' },
  { key: 'metrics.listener', type: 'hostport', group: 'Operations', default: null, nullable: true, doc: 'host:port of the HTTP endpoint for Prometheus metrics and health checks, e.g. localhost:9644 (off when unset).' },
  // ---- schema registry (docs/schema-registry.md)
  { key: 'schema.registry.listener', type: 'hostport', group: 'Schema registry', default: null, nullable: true, doc: 'host:port of the built-in Confluent-compatible Schema Registry REST API, e.g. localhost:8081 (off when unset). Every broker of a cluster serves the same registry (it lives in the metadata store); broker-side schema validation works whether or not this broker serves the API.' },
  { key: 'schema.registry.compatibility.level', type: 'enum', group: 'Schema registry', values: ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'], default: 'BACKWARD', doc: 'The global compatibility level until one is set with PUT /config (Confluent\'s schema.compatibility.level).' },
  { key: 'schema.registry.protocol', type: 'enum', group: 'Schema registry', values: ['http', 'https'], default: 'http', doc: 'https: the registry listener speaks TLS with the broker\'s ssl.* settings (key and certificate, truststore, ssl.client.auth, protocols, ciphers, principal mapping), each overridable for the registry alone as listener.name.schema_registry.<ssl key>; certificate files are reloaded when they change, as on Kafka listeners.' },
  { key: 'schema.registry.authentication', type: 'enum', group: 'Schema registry', values: ['none', 'basic', 'ssl'], default: 'none', doc: 'none: anyone reaching the listener may use the registry. basic: HTTP Basic credentials of a broker user (the PLAIN users of the SASL listeners\' sasl.jaas.config, then SCRAM credentials); use it with https, or the passwords cross the network in the clear. ssl: the principal of the TLS client certificate, mapped with ssl.principal.mapping.rules (needs schema.registry.protocol=https and ssl.client.auth required or requested). With an authorizer, subjects are authorized with topic ACLs as Confluent\'s TopicAclAuthorizer does (docs/schema-registry.md).' },
  // ---- client telemetry (KIP-714; docs/operations.md)
  { key: 'client.telemetry.metrics', type: 'list', group: 'Operations', default: [], doc: 'KIP-714: metric name prefixes clients are asked to push (e.g. org.apache.kafka.producer., org.apache.kafka.consumer.); `*` asks for every metric; empty (the default, as Kafka without client-metrics subscriptions): clients push nothing. Pushed values appear on the metrics endpoint as ferry_client_metric.' },
  { key: 'client.telemetry.push.interval.ms', type: 'duration', group: 'Operations', default: 300000, min: 100, max: 3600000, doc: 'KIP-714: how often clients push their metrics (Kafka\'s client-metrics interval.ms). A client that has not pushed for 3 intervals is forgotten, with its series.' },
  { key: 'client.telemetry.max.bytes', type: 'bytes', group: 'Operations', default: 1048576, min: 1024, max: INT_MAX, doc: 'KIP-714: largest PushTelemetry payload accepted (Kafka\'s telemetry.max.bytes); larger pushes answer TELEMETRY_TOO_LARGE.' },
  { key: 'client.telemetry.max.series', type: 'int', group: 'Operations', default: 10000, min: 0, doc: 'Most client-metric series kept for the metrics endpoint across all clients; series past it are dropped and counted in ferry_client_telemetry_series_dropped_total.' },
];

function notZero(v: ConfigValue): string | undefined {
  return v === 0 ? 'a positive value, or -1 for no limit' : undefined;
}

/** max.connections.per.ip.overrides entries: host:count (the count after the last ':'). */
function checkConnectionOverrides(items: string[]): string | undefined {
  for (const item of items) {
    const at = item.lastIndexOf(':');
    const count = item.slice(at + 1).trim();
    if (at <= 0 || item.slice(0, at).trim() === '' || !/^\d+$/.test(count) || Number(count) > INT_MAX) return 'host:count entries separated by commas, e.g. 10.0.0.5:200,loadgen:1000';
  }
  return undefined;
}

function checkProtocolMap(items: string[]): string | undefined {
  const expected = 'NAME:PROTOCOL pairs with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, e.g. INTERNAL:SASL_PLAINTEXT';
  for (const item of items) {
    const m = /^([A-Za-z][A-Za-z0-9_]*):([A-Za-z_]+)$/.exec(item.trim());
    if (!m || !(SECURITY_PROTOCOL_NAMES as readonly string[]).includes(m[2]!.toUpperCase())) return expected;
  }
  return undefined;
}

function checkMechanisms(items: string[]): string | undefined {
  return items.every((m) => (SASL_MECHANISMS as readonly string[]).includes(m)) ? undefined : `mechanisms among ${SASL_MECHANISMS.join(', ')}`;
}

function checkSuperUsers(v: string | null): string | undefined {
  if (v === null) return undefined;
  for (const p of v.split(';').map((x) => x.trim()).filter((x) => x !== '')) {
    if (!/^[^:]+:.+$/.test(p)) return 'principals like User:admin, separated by semicolons';
  }
  return undefined;
}

function checkCleanupPolicy(items: string[]): string | undefined {
  if (items.length === 0) return 'delete, compact or delete,compact';
  return items.every((p) => p === 'delete' || p === 'compact') ? undefined : 'delete, compact or delete,compact';
}

export const CONFIG_SPECS: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_SCHEMA.map((s) => [s.key, s]));

/** log.retention.ms -> logRetentionMs */
export function fieldNameOf(key: string): string {
  return key.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** log.level -> FERRY_LOG_LEVEL */
export function envNameOf(key: string): string {
  return `FERRY_${key.toUpperCase().replace(/\./g, '_')}`;
}

export function isSecretKey(key: string): boolean {
  return /password|secret|jaas|keystore\.key$/i.test(key);
}

export function isDerivedDefault(d: ConfigKeySpec['default']): d is DerivedDefault {
  return typeof d === 'object' && d !== null && !Array.isArray(d);
}

/** The value as Kafka shows config values: strings, comma-joined lists, null as null. */
export function formatConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === 'string' ? v : formatListener(v))).join(',');
  }
  return String(value);
}
