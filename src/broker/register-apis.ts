/** The API table of this broker: every handler with the versions it serves. */
import { API_TABLE, ApiKey } from '../protocol/messages/index.js';
import type { HandlerRegistry, Handler } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { makeApiVersionsHandler, API_VERSIONS_VERSIONS } from './api-versions.js';
import { makeMetadataHandler, METADATA_VERSIONS } from './metadata.js';
import { makeProduceHandler, PRODUCE_VERSIONS } from './produce.js';
import { ProduceProxy } from './produce-proxy.js';
import { makeProxyProduceHandler, FERRY_PROXY_PRODUCE_VERSIONS } from './proxy-produce-api.js';
import { makeFetchHandler, FETCH_VERSIONS } from './fetch.js';
import { makeRemoteFetchHandler } from './remote-fetch-api.js';
import { makeListOffsetsHandler, LIST_OFFSETS_VERSIONS } from './list-offsets.js';
import { makeOffsetForLeaderEpochHandler, OFFSET_FOR_LEADER_EPOCH_VERSIONS } from './offset-for-leader-epoch.js';
import { makeFindCoordinatorHandler, FIND_COORDINATOR_VERSIONS } from './find-coordinator.js';
import { makeInitProducerIdHandler, INIT_PRODUCER_ID_VERSIONS } from './init-producer-id.js';
import { makeDescribeClusterHandler, DESCRIBE_CLUSTER_VERSIONS } from './describe-cluster.js';
import { makeDescribeProducersHandler, DESCRIBE_PRODUCERS_VERSIONS } from './describe-producers.js';
import {
  makeCreateTopicsHandler, CREATE_TOPICS_VERSIONS, makeDeleteTopicsHandler, DELETE_TOPICS_VERSIONS,
  makeCreatePartitionsHandler, CREATE_PARTITIONS_VERSIONS, makeDeleteRecordsHandler, DELETE_RECORDS_VERSIONS,
} from './topic-admin.js';
import {
  makeDescribeConfigsHandler, DESCRIBE_CONFIGS_VERSIONS, makeAlterConfigsHandler, ALTER_CONFIGS_VERSIONS,
  makeIncrementalAlterConfigsHandler, INCREMENTAL_ALTER_CONFIGS_VERSIONS,
} from './config-admin.js';
import { registerGroupApis } from './group-apis.js';
import { registerConsumerGroupApis } from './consumer-group-apis.js';
import { makeDescribeTopicPartitionsHandler, DESCRIBE_TOPIC_PARTITIONS_VERSIONS } from './describe-topic-partitions.js';
import { makeDescribeLogDirsHandler, DESCRIBE_LOG_DIRS_VERSIONS } from './describe-log-dirs.js';
import { makeElectLeadersHandler, ELECT_LEADERS_VERSIONS } from './elect-leaders.js';
import {
  makeAlterPartitionReassignmentsHandler, ALTER_PARTITION_REASSIGNMENTS_VERSIONS,
  makeListPartitionReassignmentsHandler, LIST_PARTITION_REASSIGNMENTS_VERSIONS,
} from './partition-reassignments.js';
import { registerTxnApis } from './txn-apis.js';
import { registerTelemetryApis } from './telemetry-apis.js';
import { instrumentHandler } from '../ops/metrics-wiring.js';
import type { BrokerMetrics } from '../ops/metrics.js';

export type AddApi = (key: number, v: { min: number; max: number }, handler: Handler, options?: { internal?: boolean }) => void;

/**
 * `more` registers the APIs built outside src/broker's own table (SASL, ACLs, quotas:
 * src/node/security-wiring.ts). Returns the zone-local produce proxy (a cluster member only), which
 * the process closes when it stops taking requests.
 */
export function registerApis(registry: HandlerRegistry, b: BrokerContext, metrics: BrokerMetrics, more?: (add: AddApi) => void): { proxy: ProduceProxy | null } {
  const add: AddApi = (key, v, handler, options) => {
    const spec = API_TABLE.get(key);
    if (!spec) throw new Error(`no codec for api key ${key}`);
    // Never advertise a version the codecs cannot encode.
    registry.register(key, Math.max(v.min, spec.minVersion), Math.min(v.max, spec.maxVersion), instrumentHandler(metrics, handler), options);
  };
  add(ApiKey.ApiVersions, API_VERSIONS_VERSIONS, makeApiVersionsHandler(b));
  add(ApiKey.Metadata, METADATA_VERSIONS, makeMetadataHandler(b));
  const proxy = b.zones.interBroker ? new ProduceProxy(b) : null;
  add(ApiKey.Produce, PRODUCE_VERSIONS, makeProduceHandler(b, proxy ?? undefined));
  add(ApiKey.FerryProxyProduce, FERRY_PROXY_PRODUCE_VERSIONS, makeProxyProduceHandler(b), { internal: true });
  add(ApiKey.Fetch, FETCH_VERSIONS, makeFetchHandler(b));
  add(ApiKey.FerryRemoteFetch, { min: 0, max: 0 }, makeRemoteFetchHandler(b), { internal: true });
  add(ApiKey.ListOffsets, LIST_OFFSETS_VERSIONS, makeListOffsetsHandler(b));
  add(ApiKey.OffsetForLeaderEpoch, OFFSET_FOR_LEADER_EPOCH_VERSIONS, makeOffsetForLeaderEpochHandler(b));
  add(ApiKey.FindCoordinator, FIND_COORDINATOR_VERSIONS, makeFindCoordinatorHandler(b));
  add(ApiKey.InitProducerId, INIT_PRODUCER_ID_VERSIONS, makeInitProducerIdHandler(b));
  add(ApiKey.DescribeCluster, DESCRIBE_CLUSTER_VERSIONS, makeDescribeClusterHandler(b));
  add(ApiKey.DescribeProducers, DESCRIBE_PRODUCERS_VERSIONS, makeDescribeProducersHandler(b));
  add(ApiKey.CreateTopics, CREATE_TOPICS_VERSIONS, makeCreateTopicsHandler(b));
  add(ApiKey.DeleteTopics, DELETE_TOPICS_VERSIONS, makeDeleteTopicsHandler(b));
  add(ApiKey.CreatePartitions, CREATE_PARTITIONS_VERSIONS, makeCreatePartitionsHandler(b));
  add(ApiKey.DeleteRecords, DELETE_RECORDS_VERSIONS, makeDeleteRecordsHandler(b));
  add(ApiKey.DescribeConfigs, DESCRIBE_CONFIGS_VERSIONS, makeDescribeConfigsHandler(b));
  add(ApiKey.AlterConfigs, ALTER_CONFIGS_VERSIONS, makeAlterConfigsHandler(b));
  add(ApiKey.IncrementalAlterConfigs, INCREMENTAL_ALTER_CONFIGS_VERSIONS, makeIncrementalAlterConfigsHandler(b));
  add(ApiKey.DescribeTopicPartitions, DESCRIBE_TOPIC_PARTITIONS_VERSIONS, makeDescribeTopicPartitionsHandler(b));
  add(ApiKey.DescribeLogDirs, DESCRIBE_LOG_DIRS_VERSIONS, makeDescribeLogDirsHandler(b));
  add(ApiKey.ElectLeaders, ELECT_LEADERS_VERSIONS, makeElectLeadersHandler(b));
  add(ApiKey.AlterPartitionReassignments, ALTER_PARTITION_REASSIGNMENTS_VERSIONS, makeAlterPartitionReassignmentsHandler(b));
  add(ApiKey.ListPartitionReassignments, LIST_PARTITION_REASSIGNMENTS_VERSIONS, makeListPartitionReassignmentsHandler(b));
  registerGroupApis(b, add);
  registerConsumerGroupApis(b, add);
  registerTxnApis(b, add);
  registerTelemetryApis(b.telemetry, add);
  more?.(add);
  return { proxy };
}
