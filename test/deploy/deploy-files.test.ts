// deploy/: the Dockerfile (multi-stage, tsc in the build stage, production dependencies only,
// non-root), the systemd unit (restart policy, limits, controlled shutdown; systemd-analyze
// verify), the compose cluster and the Kubernetes manifests (parse as YAML, use only existing
// config keys with valid values, ports and probes line up, /healthz and /readyz wired).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/ops/config.js';
import { parseHostPort } from '../../src/ops/config-values.js';
import { requireNodeModule, requireTool } from '../helpers/require-tool.js';
import { PENDING_KEYS, PENDING_VALUES, envOf, keyOfEnv, splitSettings } from './pending-config.js';
import { repoRoot } from './terraform-model.js';
import { loadClientProperties } from '../../src/admin/client-security.js';
import { credentialsOf, parseSaslJaasConfig, plainUsersOf } from '../../src/security/sasl/jaas.js';

const YAML = () => requireNodeModule<typeof import('yaml')>('yaml');
const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

/** Loads FERRY_* settings through the real loader; returns the config, having checked the pending lists. */
function checkFerryEnv(env: Record<string, string>, kind: keyof typeof PENDING_KEYS & keyof typeof PENDING_VALUES, what: string) {
  const settings = new Map(Object.entries(env).filter(([k]) => k.startsWith('FERRY_')).map(([k, v]) => [keyOfEnv(k), v]));
  const split = splitSettings(settings);
  assert.deepEqual(split.unknownKeys, [...PENDING_KEYS[kind]], `${what}: keys not in the schema (see test/deploy/pending-config.ts)`);
  assert.deepEqual(split.unknownValues, PENDING_VALUES[kind], `${what}: values not accepted yet`);
  const config = loadConfig({ argv: [], env: envOf(split.known), cwd: '/' });
  assert.deepEqual(config.warnings, [], what);
  return config;
}

describe('deploy/Dockerfile', () => {
  const text = read('deploy/Dockerfile');
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const stages: Array<{ name: string; lines: string[] }> = [];
  for (const l of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) stages.push({ name: from[1] ?? `stage${stages.length}`, lines: [] });
    else if (stages.length > 0) stages[stages.length - 1]!.lines.push(l);
  }
  const joined = (s: { lines: string[] }) => s.lines.join('\n').replace(/\\\n/g, ' ');

  test('multi-stage: tsc in a build stage, `npm ci --omit=dev` for the runtime dependencies', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const build = stages[0]!;
    assert.match(joined(build), /RUN npm ci\b/);
    assert.match(joined(build), /RUN npx tsc -b|RUN npm run build/);
    const prodDeps = stages.find((s) => /npm ci --omit=dev/.test(joined(s)));
    assert.ok(prodDeps, 'a stage running npm ci --omit=dev');
    const final = stages[stages.length - 1]!;
    const copies = final.lines.filter((l) => l.startsWith('COPY'));
    assert.ok(copies.some((l) => l.includes(`--from=${prodDeps.name}`) && l.includes('node_modules')), 'runtime node_modules come from the production-only stage');
    assert.ok(!copies.some((l) => l.includes(`--from=${build.name}`) && l.includes('node_modules')), 'no dev node_modules in the runtime image');
    assert.ok(!/\bnpm (ci|install)\b/.test(joined(final)), 'the runtime stage installs nothing');
    for (const l of copies) {
      const from = /--from=(\S+)/.exec(l)?.[1];
      if (from) assert.ok(stages.some((s) => s.name === from), `COPY --from=${from} names a stage`);
    }
    // The runtime runs the compiled entry point that package.json's bin (the checkout's launcher) runs.
    const bin = JSON.parse(read('package.json')).bin.ferry as string;
    const entry = /join\(ROOT, '(dist\/[^']+\.js)'\)/.exec(read(bin))![1]!;
    assert.equal(entry, 'dist/src/cli/main.js');
    assert.match(text, new RegExp(`ENTRYPOINT \\["node", "/app/${entry.replace(/\./g, '\\.')}"\\]`));
  });

  test('runs as a non-root user, exposes Kafka and metrics, health-checks /healthz', () => {
    const final = stages[stages.length - 1]!;
    const users = final.lines.filter((l) => l.startsWith('USER '));
    assert.equal(users.length, 1);
    const user = users[0]!.slice(5).trim().split(':')[0]!;
    assert.ok(!['root', '0', ''].includes(user), `USER ${user}`);
    const userIdx = final.lines.indexOf(users[0]!);
    const entryIdx = final.lines.findIndex((l) => l.startsWith('ENTRYPOINT'));
    assert.ok(userIdx >= 0 && userIdx < entryIdx, 'USER before ENTRYPOINT');
    assert.match(joined(final), /EXPOSE 9092 9644/);
    assert.match(joined(final), /HEALTHCHECK[\s\S]*127\.0\.0\.1:9644\/healthz/);
    assert.match(joined(final), /STOPSIGNAL SIGTERM/);
  });

  test('its FERRY_* defaults are valid config on their own (a plain docker run starts a broker)', () => {
    const envLine = joined(stages[stages.length - 1]!).match(/ENV ([^\n]+)/)![1]!;
    const env = Object.fromEntries([...envLine.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const config = checkFerryEnv(env, 'dockerfile', 'Dockerfile ENV');
    assert.equal(config.get('metrics.listener'), '0.0.0.0:9644');
  });
});

describe('deploy/systemd/ferry.service', () => {
  const unit = read('deploy/systemd/ferry.service');
  const sections = new Map<string, Map<string, string[]>>();
  let current = '';
  for (const raw of unit.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(l);
    if (sec) { current = sec[1]!; sections.set(current, new Map()); continue; }
    const eq = l.indexOf('=');
    assert.ok(eq > 0 && current !== '', `line ${l}`);
    const k = l.slice(0, eq);
    const s = sections.get(current)!;
    s.set(k, [...(s.get(k) ?? []), l.slice(eq + 1)]);
  }
  const svc = (k: string) => sections.get('Service')?.get(k)?.[0];

  test('restart policy, limits, non-root, controlled shutdown with a stop timeout', () => {
    assert.deepEqual([...sections.keys()], ['Unit', 'Service', 'Install']);
    assert.ok(svc('Restart') && svc('Restart') !== 'no', 'Restart=');
    assert.equal(svc('RestartPreventExitStatus'), '2', 'a config error (exit 2) is not restarted');
    // A fenced broker exits 70 by design and a drill SIGKILLs it: both must be restarted, by
    // Restart= itself and explicitly (RestartForceExitStatus survives a drop-in's Restart=no).
    const restart = svc('Restart')!;
    assert.ok(['on-failure', 'always'].includes(restart), `Restart=${restart} covers exit 70`);
    assert.ok(['on-failure', 'always', 'on-abnormal'].includes(restart), `Restart=${restart} covers SIGKILL`);
    const forced = (svc('RestartForceExitStatus') ?? '').split(/\s+/);
    assert.ok(forced.includes('70') && forced.includes('SIGKILL'), 'RestartForceExitStatus=70 SIGKILL');
    assert.ok(!svc('RestartPreventExitStatus')!.split(/\s+/).some((x) => x === '70' || x === 'SIGKILL' || x === 'KILL'));
    // A drill kills it over and over: no start rate limit may leave it down.
    assert.equal(sections.get('Unit')!.get('StartLimitIntervalSec')?.[0], '0');
    assert.ok(svc('RestartSec'));
    assert.ok(Number(svc('LimitNOFILE')) >= 65536);
    assert.ok(svc('User') && svc('User') !== 'root');
    assert.equal(svc('ExecStop'), '/bin/kill -TERM $MAINPID', 'ExecStop sends SIGTERM: the broker\'s controlled shutdown');
    assert.equal(svc('KillSignal'), 'SIGTERM');
    // Stop timeout covers shutdown.timeout.ms (default 30 s) plus the broker's own 5 s margin.
    const stopSec = Number(svc('TimeoutStopSec'));
    assert.ok(stopSec >= 35, `TimeoutStopSec=${stopSec}`);
    assert.match(svc('ExecStart')!, / broker --config \/etc\/ferry\/ferry\.properties$/);
    assert.equal(sections.get('Install')!.get('WantedBy')![0], 'multi-user.target');
    assert.equal(svc('ReadWritePaths'), '/var/lib/ferry');
  });

  test('systemd-analyze verify accepts it (node path pointed at this machine\'s node)', () => {
    const analyze = requireTool('systemd-analyze', 'apt-get install -y systemd');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-unit-'));
    try {
      const copy = join(dir, 'ferry.service');
      writeFileSync(copy, unit.replaceAll('/usr/local/bin/node', process.execPath));
      const res = spawnSync(analyze, ['verify', '--man=no', copy], { encoding: 'utf8' });
      // verify exits 0 on mere warnings (unknown keys, bad values): any output is a failure.
      assert.equal(res.status, 0, res.stderr);
      assert.equal((res.stderr + res.stdout).trim(), '', 'systemd-analyze reported problems');
      // And it does report a broken unit (the check is not vacuous).
      writeFileSync(copy, unit.replaceAll('/usr/local/bin/node', process.execPath).replace('TimeoutStopSec=45', 'TimeoutStopSec=soon'));
      const bad = spawnSync(analyze, ['verify', '--man=no', copy], { encoding: 'utf8' });
      assert.match(bad.stderr, /TimeoutStopSec|time value/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/compose/compose.yaml', () => {
  const doc = () => YAML().parse(read('deploy/compose/compose.yaml'), { merge: true }) as Record<string, any>;

  test('three brokers in three racks, etcd and an S3-compatible server', () => {
    const services = doc().services as Record<string, any>;
    const brokers = Object.keys(services).filter((s) => s.startsWith('broker-'));
    assert.deepEqual(brokers, ['broker-1', 'broker-2', 'broker-3']);
    assert.ok(services.etcd);
    assert.ok(services.minio);
    const racks = brokers.map((b) => services[b].environment.FERRY_RACK);
    assert.deepEqual(racks, ['a', 'b', 'c']);
    const ids = brokers.map((b) => services[b].environment.FERRY_NODE_ID);
    assert.equal(new Set(ids).size, 3);
    for (const b of brokers) {
      const s = services[b];
      assert.match(s.stop_grace_period, /^\d+s$/);
      assert.ok(parseInt(s.stop_grace_period, 10) >= 35, 'stop grace covers the controlled shutdown');
      assert.match(s.healthcheck.test.join(' '), /\/readyz/);
      assert.ok(s.depends_on.etcd && s.depends_on['minio-setup']);
    }
  });

  test('every broker\'s environment is valid config; ports line up with listeners; endpoints name real services', () => {
    const d = doc();
    const services = d.services as Record<string, any>;
    for (const b of ['broker-1', 'broker-2', 'broker-3']) {
      const s = services[b];
      const config = checkFerryEnv(s.environment, 'compose', `compose ${b}`);
      const listen = (config.get('listeners') as Array<{ port: number }>)[0]!.port;
      const advertised = (config.get('advertised.listeners') as Array<{ host: string; port: number }>)[0]!;
      const metrics = parseHostPort(String(config.get('metrics.listener')));
      const ports = (s.ports as string[]).map((p) => p.split(':').map(Number));
      assert.ok(ports.some(([host, container]) => container === listen && host === advertised.port), `${b}: Kafka port ${listen} published as advertised ${advertised.port}`);
      assert.ok(ports.some(([, container]) => container === metrics.port), `${b}: metrics port published`);
      assert.match(s.healthcheck.test.join(' '), new RegExp(`:${metrics.port}/readyz`));
      assert.equal(config.get('etcd.endpoints')!.toString(), 'http://etcd:2379');
      assert.equal(new URL(String(config.get('s3.endpoint'))).hostname, 'minio');
      assert.ok(String(config.get('wal.path')).startsWith('/var/lib/ferry-volumes/'), 'WAL on the shared volume');
      const mounts = (s.volumes as string[]).map((v) => v.split(':'));
      assert.ok(mounts.some(([, path]) => path === '/var/lib/ferry-volumes'));
      assert.ok(mounts.some(([, path]) => path === config.get('data.dir')));
      for (const [vol] of mounts) assert.ok(vol! in d.volumes, `volume ${vol} declared`);
    }
    const bucket = services['broker-1'].environment.FERRY_S3_BUCKET as string;
    assert.match(services['minio-setup'].entrypoint.join(' '), new RegExp(`mc mb --ignore-existing local/${bucket}`));
    assert.equal(services['broker-1'].environment.FERRY_S3_ACCESS_KEY_ID, services.minio.environment.MINIO_ROOT_USER);
  });
});

describe('deploy/kubernetes', () => {
  const files = readdirSync(join(repoRoot, 'deploy/kubernetes')).filter((f) => f.endsWith('.yaml')).sort();
  const docs = () => files.flatMap((f) => YAML().parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => {
    assert.deepEqual(d.errors, [], f);
    return { file: f, obj: d.toJS() as Record<string, any> };
  }));
  const byKind = (kind: string) => docs().filter((d) => d.obj.kind === kind).map((d) => d.obj);

  test('every manifest parses; kustomization lists every resource file', () => {
    const all = docs();
    assert.ok(all.length >= 8);
    for (const d of all) {
      assert.ok(d.obj.apiVersion && d.obj.kind, `${d.file}: apiVersion and kind`);
      if (d.obj.kind !== 'Kustomization') assert.ok(d.obj.metadata?.name, `${d.file}: metadata.name`);
    }
    const k = byKind('Kustomization')[0]!;
    assert.deepEqual([...k.resources].sort(), files.filter((f) => f !== 'kustomization.yaml'));
  });

  test('StatefulSet: one PVC per broker for the WAL, probes on /healthz and /readyz, controlled shutdown time', () => {
    const sts = byKind('StatefulSet');
    assert.equal(sts.length, 1);
    const s = sts[0]!;
    const pod = s.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(s.spec.volumeClaimTemplates.length, 1);
    const claim = s.spec.volumeClaimTemplates[0];
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    assert.ok(c.volumeMounts.some((m: any) => m.name === claim.metadata.name && m.mountPath === '/var/lib/ferry'));
    const ports = new Map<string, number>(c.ports.map((p: any) => [p.name, p.containerPort]));
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) assert.ok(ports.has(p.httpGet.port), `probe port ${p.httpGet.port}`);
    assert.ok(pod.terminationGracePeriodSeconds >= 35);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.ok(pod.topologySpreadConstraints.some((t: any) => t.topologyKey === 'topology.kubernetes.io/zone'));
    assert.equal(s.spec.serviceName, 'ferry-headless');
    assert.deepEqual(s.spec.selector.matchLabels, s.spec.template.metadata.labels);
  });

  test('config comes from the environment and is valid; ports match the listeners', () => {
    const s = byKind('StatefulSet')[0]!;
    const c = s.spec.template.spec.containers[0];
    const cm = byKind('ConfigMap').find((m) => m.metadata.name === c.envFrom.find((e: any) => e.configMapRef).configMapRef.name)!;
    const secret = byKind('Secret').find((m) => m.metadata.name === c.envFrom.find((e: any) => e.secretRef).secretRef.name)!;
    const env: Record<string, string> = { ...cm.data, ...secret.stringData };
    // Per-pod values as the kubelet expands them for pod ferry-1 in namespace ferry.
    const podVars: Record<string, string> = { POD_NAME: 'ferry-1', POD_NAMESPACE: 'ferry' };
    for (const e of c.env) {
      if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v: string) => podVars[v] ?? env[v] ?? `$(${v})`);
      else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.labels['apps.kubernetes.io/pod-index']") env[e.name] = '1';
      else if (e.valueFrom?.fieldRef) env[e.name] = podVars[e.name] ?? 'x';
    }
    const config = checkFerryEnv(env, 'kubernetes', 'kubernetes pod env');
    assert.equal(config.get('node.id'), 1);
    assert.equal((config.get('advertised.listeners') as Array<{ host: string }>)[0]!.host, 'ferry-1.ferry-headless.ferry.svc.cluster.local');
    const ports = new Map<string, number>(c.ports.map((p: any) => [p.name, p.containerPort]));
    assert.equal(ports.get('kafka'), (config.get('listeners') as Array<{ port: number }>)[0]!.port);
    assert.equal(ports.get('metrics'), parseHostPort(String(config.get('metrics.listener'))).port);
    assert.ok(String(config.get('wal.path')).startsWith('/var/lib/ferry/'), 'WAL on the PVC');
  });

  test('Services (incl. headless) and the PodDisruptionBudget select the brokers and target real ports', () => {
    const s = byKind('StatefulSet')[0]!;
    const labels = s.spec.template.metadata.labels;
    const portNames = new Set(s.spec.template.spec.containers[0].ports.map((p: any) => p.name));
    const services = byKind('Service');
    assert.ok(services.length >= 2);
    const headless = services.find((x) => x.metadata.name === s.spec.serviceName)!;
    assert.equal(headless.spec.clusterIP, 'None');
    for (const svc of services) {
      assert.deepEqual(svc.spec.selector, labels, svc.metadata.name);
      for (const p of svc.spec.ports) assert.ok(portNames.has(p.targetPort), `${svc.metadata.name} targetPort ${p.targetPort}`);
    }
    const pdb = byKind('PodDisruptionBudget');
    assert.equal(pdb.length, 1);
    assert.deepEqual(pdb[0]!.spec.selector.matchLabels, labels);
    assert.equal(pdb[0]!.spec.maxUnavailable, 1);
  });
});

describe('docs/deploy-*.md', () => {
  for (const cloud of ['aws', 'azure'] as const) {
    test(`docs/deploy-${cloud}.md: zone-loss semantics, the drill, and the pending config keys`, () => {
      const md = read(`docs/deploy-${cloud}.md`);
      // The drill itself (exact command lines) is checked in drill-commands.test.ts.
      assert.match(md, /terraform output -raw drill_command\b/);
      assert.match(md, /terraform output -raw drill_command_process_kill/);
      assert.doesNotMatch(md, /--bootstrap-server|--kill broker-/, 'no made-up drill flags');
      // What the failover does and how fast, as measured (src/failover/README.md).
      assert.match(md, /broker\.session\.timeout\.ms/);
      assert.match(md, /3\.2–3\.3 s/);
      assert.match(md, /4\.7 s/);
      assert.match(md, /status 70/);
      assert.match(md, /acked lost/);
      if (cloud === 'aws') {
        assert.match(md, /\*\*zonal\*\*/);
        // What remount-controller.ts does with no live broker in the zone: the partitions wait.
        assert.match(md, /ZONAL_VOLUME/);
        assert.match(md, /no acknowledged record is ever\s+lost or forked/);
        assert.doesNotMatch(md, /unavailable until the zone returns|un-uploaded tail .* stays unavailable/, 'the old claim (partitions continue from S3) is gone');
      } else {
        assert.match(md, /\*\*zone-redundant\*\*/);
        assert.match(md, /attached to a VM in \*\*any\*\* zone/);
      }
      const section = md.slice(md.indexOf('## Config keys'));
      const kind = cloud === 'aws' ? 'awsProperties' : 'azureProperties';
      for (const key of [...PENDING_KEYS[kind], ...PENDING_KEYS.installEnv]) assert.ok(section.includes(`\`${key}\``), `Config keys section lists ${key}`);
      for (const kv of PENDING_VALUES[kind]) assert.ok(section.includes(`\`${kv}\``), `Config keys section lists ${kv}`);
    });
  }
});

/** gen-security.sh run for real (sh + openssl) into a temp dir; returns the dir. */
function genSecurity(extraNames?: string): string {
  requireTool('openssl', 'apt-get install -y openssl');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-gen-security-'));
  const res = spawnSync('sh', [join(repoRoot, 'deploy/compose/gen-security.sh'), dir], {
    encoding: 'utf8', env: { ...process.env, FERRY_UID: String(process.getuid?.() ?? 0), ...(extraNames ? { FERRY_CERT_NAMES: extraNames } : {}) },
  });
  assert.equal(res.status, 0, res.stderr);
  return dir;
}

describe('deploy/compose/compose.sasl-ssl.yaml + gen-security.sh', () => {
  const base = () => YAML().parse(read('deploy/compose/compose.yaml'), { merge: true }) as Record<string, any>;
  const override = () => YAML().parse(read('deploy/compose/compose.sasl-ssl.yaml'), { merge: true }) as Record<string, any>;

  test('gen-security.sh: a CA, a broker certificate for localhost and broker-1..3 that chains to it, users with random passwords; kept when run again', () => {
    const dir = genSecurity();
    try {
      const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
      const keystore = readFileSync(join(dir, 'broker.keystore.pem'), 'utf8');
      assert.ok(keystore.indexOf('PRIVATE KEY') < keystore.indexOf('CERTIFICATE'), 'Kafka PEM keystore: key first, then the chain');
      const cert = new X509Certificate(readFileSync(join(dir, 'broker.crt')));
      assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
      for (const host of ['localhost', 'broker-1', 'broker-2', 'broker-3']) assert.equal(cert.checkHost(host), host);
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
      for (const f of ['ca.key', 'broker.keystore.pem', 'broker.properties', 'sasl.jaas.config']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
      const before = readFileSync(join(dir, 'broker.properties'), 'utf8');
      const again = spawnSync('sh', [join(repoRoot, 'deploy/compose/gen-security.sh'), dir], { encoding: 'utf8' });
      assert.equal(again.status, 0);
      assert.match(again.stderr, /already set up/);
      assert.equal(readFileSync(join(dir, 'broker.properties'), 'utf8'), before, 'passwords are made once');
      // The client configs read by Ferry's tools (Kafka names) and by kcat (librdkafka names) say the same.
      const kafka = loadClientProperties(join(dir, 'client.properties'));
      const rdkafka = loadClientProperties(join(dir, 'kcat.properties'));
      assert.equal(kafka.protocol, 'SASL_SSL');
      assert.deepEqual(kafka, rdkafka);
      assert.equal(kafka.sasl!.username, 'admin');
      assert.match(kafka.sasl!.password!, /^[0-9a-f]{32}$/);
      const jaas = parseSaslJaasConfig(readFileSync(join(dir, 'sasl.jaas.config'), 'utf8'));
      assert.equal(plainUsersOf(jaas).get('admin'), kafka.sasl!.password);
      assert.equal(credentialsOf(jaas)!.username, 'ferry-broker');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each broker gets a SASL_SSL listener beside PLAINTEXT, published on its advertised port; the generated config file loads', () => {
    const b = base();
    const o = override();
    assert.equal(o.services['security-setup'].restart, 'no');
    assert.match(o.services['security-setup'].entrypoint.join(' '), /gen-security\.sh \/security$/);
    const dir = genSecurity();
    try {
      for (const name of ['broker-1', 'broker-2', 'broker-3']) {
        const s = o.services[name];
        assert.equal(s.depends_on['security-setup'].condition, 'service_completed_successfully');
        assert.ok((s.volumes as string[]).includes('./security:/security:ro'));
        const env: Record<string, string> = { ...b.services[name].environment, ...s.environment };
        assert.equal(env.FERRY_CONFIG, '/security/broker.properties');
        delete env.FERRY_CONFIG;
        const settings = new Map(Object.entries(env).filter(([k]) => k.startsWith('FERRY_')).map(([k, v]) => [keyOfEnv(k), String(v)]));
        const split = splitSettings(settings);
        assert.deepEqual(split.unknownKeys, [...PENDING_KEYS.compose]);
        const config = loadConfig({ argv: ['--config', join(dir, 'broker.properties')], env: envOf(split.known), cwd: dir });
        assert.deepEqual(config.warnings, []);
        const listeners = config.get('listeners') as Array<{ name: string; port: number }>;
        const advertised = config.get('advertised.listeners') as Array<{ name: string; host: string; port: number }>;
        const sasl = listeners.find((l) => l.name === 'SASL_SSL')!;
        const adv = advertised.find((l) => l.name === 'SASL_SSL')!;
        assert.equal(config.securityProtocolOf('SASL_SSL'), 'SASL_SSL');
        assert.equal(adv.host, 'localhost');
        const ports = [...(b.services[name].ports as string[]), ...(s.ports as string[])].map((p) => p.split(':').map(Number));
        assert.ok(ports.some(([host, container]) => container === sasl.port && host === adv.port), `${name}: SASL_SSL ${sasl.port} published as ${adv.port}`);
        assert.equal(advertised[0]!.name, 'PLAINTEXT', 'PLAINTEXT stays first: the drill and the brokers among themselves use it');
        assert.ok(String(config.get('ssl.keystore.location')).endsWith('/broker.keystore.pem'));
        assert.equal(config.get('super.users'), 'User:ferry-broker;User:admin');
        const jaas = parseSaslJaasConfig(String(config.forListener('SASL_SSL', 'sasl.jaas.config', 'PLAIN')));
        assert.deepEqual([...plainUsersOf(jaas).keys()].sort(), ['admin', 'ferry-broker']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.match(read('deploy/compose/.gitignore'), /^security\/$/m, 'generated secrets stay out of git');
  });
});

describe('deploy/kubernetes-sasl-ssl (overlay)', () => {
  const overlayDir = 'deploy/kubernetes-sasl-ssl';
  const parse = (p: string) => YAML().parse(read(p)) as Record<string, any>;
  const baseDocs = () => readdirSync(join(repoRoot, 'deploy/kubernetes')).filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML().parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJS() as Record<string, any>));

  /** Strategic merge as kustomize does it for these kinds: maps deep-merged, named lists merged by name. */
  function merge(target: any, patch: any): any {
    if (Array.isArray(patch)) {
      if (!Array.isArray(target) || !patch.every((p) => p && typeof p === 'object' && 'name' in p)) return patch;
      // kustomize puts the patch's entries first, in the patch's order, then the target's others.
      const merged = patch.map((p) => { const t = target.find((x: any) => x.name === p.name); return t ? merge(t, p) : p; });
      return [...merged, ...target.filter((t: any) => !patch.some((p) => p.name === t.name))];
    }
    if (patch && typeof patch === 'object') {
      const out = { ...(target ?? {}) };
      for (const [k, v] of Object.entries(patch)) out[k] = merge(out[k], v);
      return out;
    }
    return patch;
  }

  function rendered(): Record<string, any>[] {
    const k = parse(`${overlayDir}/kustomization.yaml`);
    assert.deepEqual(k.resources, ['../kubernetes']);
    const files = readdirSync(join(repoRoot, overlayDir)).filter((f) => f !== 'kustomization.yaml').sort();
    assert.deepEqual(k.patches.map((p: any) => p.path).sort(), files, 'every patch file is listed');
    let docs = baseDocs().filter((d) => d.kind !== 'Kustomization');
    for (const p of k.patches) {
      const patch = parse(`${overlayDir}/${p.path}`);
      const i = docs.findIndex((d) => d.kind === patch.kind && d.metadata?.name === patch.metadata.name);
      assert.ok(i >= 0, `${p.path} patches an existing ${patch.kind} ${patch.metadata.name}`);
      docs = docs.map((d, j) => (j === i ? merge(d, patch) : d));
    }
    return docs;
  }

  test('pods listen and advertise SASL_SSL on 9094 per pod, read the users and TLS files from the Secret ferry-security; the config is valid', () => {
    const docs = rendered();
    const sts = docs.find((d) => d.kind === 'StatefulSet')!;
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'ferry-config')!;
    const env: Record<string, string> = { ...cm.data };
    const podVars: Record<string, string> = { POD_NAME: 'ferry-1', POD_NAMESPACE: 'ferry' };
    const secretKeys = new Set<string>();
    // $(VAR) in a value only sees entries above it.
    c.env.forEach((e: any, i: number) => {
      for (const m of String(e.value ?? '').matchAll(/\$\((\w+)\)/g)) {
        assert.ok(c.env.slice(0, i).some((x: any) => x.name === m[1]), `${e.name} uses $(${m[1]}) before it is defined`);
      }
    });
    for (const e of c.env) {
      if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v: string) => podVars[v] ?? `$(${v})`);
      else if (e.valueFrom?.secretKeyRef) {
        assert.equal(e.valueFrom.secretKeyRef.name, 'ferry-security');
        secretKeys.add(e.valueFrom.secretKeyRef.key);
        env[e.name] = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="ferry-broker" password="x" user_ferry-broker="x";';
      } else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.labels['apps.kubernetes.io/pod-index']") env[e.name] = '1';
      else if (e.valueFrom?.fieldRef) env[e.name] = podVars[e.name] ?? 'x';
    }
    const config = checkFerryEnv(env, 'kubernetes', 'kubernetes sasl-ssl overlay env');
    const adv = (config.get('advertised.listeners') as Array<{ name: string; host: string; port: number }>).find((l) => l.name === 'SASL_SSL')!;
    assert.equal(adv.host, 'ferry-1.ferry-headless.ferry.svc.cluster.local');
    assert.equal(adv.port, 9094);
    assert.equal(config.get('inter.broker.listener.name'), 'SASL_SSL');
    assert.equal(config.get('super.users'), 'User:ferry-broker;User:admin');
    const ports = new Map<string, number>(c.ports.map((p: any) => [p.name, p.containerPort]));
    assert.equal(ports.get('sasl-ssl'), (config.get('listeners') as Array<{ name: string; port: number }>).find((l) => l.name === 'SASL_SSL')!.port);
    assert.equal(ports.get('kafka'), 9092, 'the base ports are kept');
    // The TLS files: where the config points, from the Secret, read-only.
    const mount = c.volumeMounts.find((m: any) => m.name === 'security');
    assert.equal(mount.readOnly, true);
    const vol = pod.volumes.find((v: any) => v.name === 'security');
    assert.equal(vol.secret.secretName, 'ferry-security');
    for (const key of ['ssl.keystore.location', 'ssl.truststore.location']) {
      const path = String(config.get(key));
      assert.ok(path.startsWith(`${mount.mountPath}/`), key);
      const item = vol.secret.items.find((i: any) => `${mount.mountPath}/${i.path}` === path);
      assert.ok(item, `${key} comes from the Secret`);
      secretKeys.add(item.key);
    }
    assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/var/lib/ferry'), 'the WAL mount is kept');
    assert.ok(c.env.some((e: any) => e.name === 'FERRY_NODE_ID'), 'the base env is kept');
    // The Secret's keys are the ones the overlay's kubectl create secret command makes.
    const made = [...read(`${overlayDir}/kustomization.yaml`).matchAll(/--from-file=([\w.]+)=/g)].map((m) => m[1]!).sort();
    assert.deepEqual(made, [...secretKeys].sort());
    for (const svc of docs.filter((d) => d.kind === 'Service' && d.metadata.name !== 'ferry-metrics')) {
      assert.ok(svc.spec.ports.some((p: any) => p.port === 9094 && p.targetPort === 'sasl-ssl'), `${svc.metadata.name} exposes 9094`);
      assert.ok(svc.spec.ports.some((p: any) => p.port === 9092), `${svc.metadata.name} keeps 9092`);
    }
  });

  test('the certificate gen-security.sh makes with FERRY_CERT_NAMES covers every pod and the bootstrap Service', () => {
    const dir = genSecurity('*.ferry-headless.ferry.svc.cluster.local,ferry.ferry.svc.cluster.local');
    try {
      const cert = new X509Certificate(readFileSync(join(dir, 'broker.crt')));
      for (const host of ['ferry-0.ferry-headless.ferry.svc.cluster.local', 'ferry-2.ferry-headless.ferry.svc.cluster.local', 'ferry.ferry.svc.cluster.local']) assert.ok(cert.checkHost(host), host);
      assert.equal(cert.checkHost('evil.example.com'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
