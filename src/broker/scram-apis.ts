/**
 * DescribeUserScramCredentials (50, v0) and AlterUserScramCredentials (51, v0): the SCRAM users
 * in the metadata store (src/security/sasl/scram-credential-store.ts), with Kafka's semantics
 * (ScramImage.describe, ScramControlManager.alterCredentials):
 *   - DESCRIBE / ALTER on the cluster resource, else CLUSTER_AUTHORIZATION_FAILED;
 *   - a user named twice in one request: DUPLICATE_RESOURCE (in Alter, even for two mechanisms);
 *   - an unknown mechanism: UNSUPPORTED_SASL_MECHANISM; iterations outside 4096..16384 or an
 *     empty user name: UNACCEPTABLE_CREDENTIAL; deleting or describing what is not there:
 *     RESOURCE_NOT_FOUND.
 * The client sends salt and salted password (it did the PBKDF2); the broker stores StoredKey and
 * ServerKey derived from them, never the salted password. Every broker serves both, as all read
 * the same store.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from '../protocol/messages/describe-user-scram-credentials.js';
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from '../protocol/messages/alter-user-scram-credentials.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { Handler, RequestContext } from '../server/handler-registry.js';
import { internalSession } from '../server/session.js';
import { CLUSTER_RESOURCE_NAME } from '../security/types.js';
import type { BrokerContext } from './context.js';
import type { ScramCredentialChange, ScramCredentialStore } from '../security/sasl/scram-credential-store.js';
import {
  SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, SCRAM_MECHANISM_TYPE, credentialFromSaltedPassword, scramAlgorithm, scramMechanismOfType, type ScramMechanism,
} from '../security/sasl/scram.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

/** Kafka's default message of ClusterAuthorizationException. */
const CLUSTER_DENIED = 'Cluster authorization failed.';
const DUPLICATE_ALTER = 'A user credential cannot be altered twice in the same request';

type UserResult = { user: string; errorCode: number; errorMessage: string | null };

export function registerScramApis(b: BrokerContext, add: Add, store: ScramCredentialStore): void {
  add(ApiKey.DescribeUserScramCredentials, { min: 0, max: 0 }, async (ctx: RequestContext, req: DescribeUserScramCredentialsRequest): Promise<DeepPartial<DescribeUserScramCredentialsResponse>> => {
    if (!b.authorizer.authorize(ctx.session ?? internalSession(), 'DESCRIBE', 'CLUSTER', CLUSTER_RESOURCE_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: CLUSTER_DENIED, results: [] };
    }
    const all = await store.list();
    const byUser = new Map<string, Array<{ mechanism: number; iterations: number }>>();
    for (const c of all) {
      const infos = byUser.get(c.user) ?? [];
      infos.push({ mechanism: SCRAM_MECHANISM_TYPE[c.mechanism], iterations: c.iterations });
      byUser.set(c.user, infos);
    }
    const asked = req.users === null || req.users.length === 0 ? null : req.users.map((u) => u.name);
    if (asked === null) {
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results: [...byUser].map(([user, credentialInfos]) => ({ user, errorCode: 0, errorMessage: null, credentialInfos })) };
    }
    const counts = new Map<string, number>();
    for (const u of asked) counts.set(u, (counts.get(u) ?? 0) + 1);
    const results = [...counts].map(([user, n]) => {
      if (n > 1) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] };
      const credentialInfos = byUser.get(user);
      if (!credentialInfos) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
      return { user, errorCode: 0, errorMessage: null, credentialInfos };
    });
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
  });

  add(ApiKey.AlterUserScramCredentials, { min: 0, max: 0 }, async (ctx: RequestContext, req: AlterUserScramCredentialsRequest): Promise<DeepPartial<AlterUserScramCredentialsResponse>> => {
    const names = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])].sort();
    if (!b.authorizer.authorize(ctx.session ?? internalSession(), 'ALTER', 'CLUSTER', CLUSTER_RESOURCE_NAME)) {
      return { throttleTimeMs: 0, results: names.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: CLUSTER_DENIED })) };
    }
    const errors = new Map<string, { code: number; message: string }>();
    const deletions = new Map<string, ScramMechanism>();
    const upserts = new Map<string, AlterUserScramCredentialsRequest['upsertions'][number] & { m: ScramMechanism }>();
    const invalid = (user: string, mechanismType: number): { code: number; message: string } | null => {
      if (user === '') return { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Username must not be empty' };
      if (scramMechanismOfType(mechanismType) === null) return { code: ErrorCode.UNSUPPORTED_SASL_MECHANISM, message: 'Unknown SCRAM mechanism' };
      return null;
    };
    for (const d of req.deletions) {
      if (errors.has(d.name)) continue;
      if (deletions.delete(d.name)) { errors.set(d.name, { code: ErrorCode.DUPLICATE_RESOURCE, message: DUPLICATE_ALTER }); continue; }
      const bad = invalid(d.name, d.mechanism);
      if (bad) { errors.set(d.name, bad); continue; }
      const m = scramMechanismOfType(d.mechanism)!;
      if (!(await store.get(m, d.name))) { errors.set(d.name, { code: ErrorCode.RESOURCE_NOT_FOUND, message: 'Attempt to delete a user credential that does not exist' }); continue; }
      deletions.set(d.name, m);
    }
    for (const u of req.upsertions) {
      if (errors.has(u.name)) continue;
      if (deletions.delete(u.name) || upserts.delete(u.name)) { errors.set(u.name, { code: ErrorCode.DUPLICATE_RESOURCE, message: DUPLICATE_ALTER }); continue; }
      const bad = invalid(u.name, u.mechanism)
        ?? (u.iterations < SCRAM_MIN_ITERATIONS ? { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Too few iterations' } : null)
        ?? (u.iterations > SCRAM_MAX_ITERATIONS ? { code: ErrorCode.UNACCEPTABLE_CREDENTIAL, message: 'Too many iterations' } : null);
      if (bad) { errors.set(u.name, bad); continue; }
      upserts.set(u.name, { ...u, m: scramMechanismOfType(u.mechanism)! });
    }
    const changes: ScramCredentialChange[] = [
      ...[...deletions].map(([user, mechanism]): ScramCredentialChange => ({ type: 'delete', user, mechanism })),
      ...[...upserts.values()].map((u): ScramCredentialChange => ({
        type: 'put', user: u.name, mechanism: u.m, credential: credentialFromSaltedPassword(scramAlgorithm(u.m), u.salt, u.saltedPassword, u.iterations),
      })),
    ];
    const results: UserResult[] = [];
    if (changes.length > 0) {
      try {
        await store.apply(changes);
        ctx.log.info({ principal: `${(ctx.session ?? internalSession()).principal.name}`, changes: changes.map((c) => `${c.type} ${c.mechanism} ${c.user}`) }, 'SCRAM credentials altered');
        for (const c of changes) results.push({ user: c.user, errorCode: 0, errorMessage: null });
      } catch (err) {
        ctx.log.warn({ err: (err as Error).message }, 'SCRAM credentials could not be stored');
        for (const c of changes) results.push({ user: c.user, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'The SCRAM credentials could not be stored' });
      }
    }
    for (const [user, e] of errors) results.push({ user, errorCode: e.code, errorMessage: e.message });
    return { throttleTimeMs: 0, results };
  });
}
