/**
 * DescribeCluster (api key 60), versions 0–1: cluster id, controller, brokers with racks. ACLs
 * (Kafka's): none to describe; the cluster's authorized operations, when asked, need DESCRIBE on the
 * cluster (0 without it).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeClusterRequest, DescribeClusterResponse } from '../protocol/messages/describe-cluster.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import { endpointFor, type BrokerContext } from './context.js';
import { CLUSTER_RESOURCE_NAME } from '../security/types.js';
import { AUTHORIZED_OPERATIONS_OMITTED, requestAcl } from './authorize.js';

export const DESCRIBE_CLUSTER_VERSIONS = { min: 0, max: 1 } as const;
const ENDPOINT_BROKERS = 1;

export function makeDescribeClusterHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: DescribeClusterRequest): DeepPartial<DescribeClusterResponse> => {
    if (req.endpointType !== ENDPOINT_BROKERS) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `endpoint type ${req.endpointType} is not served`, endpointType: req.endpointType, clusterId: b.clusterId, brokers: [] };
    }
    let clusterAuthorizedOperations = AUTHORIZED_OPERATIONS_OMITTED;
    if (req.includeClusterAuthorizedOperations) {
      const acl = requestAcl(b, ctx);
      clusterAuthorizedOperations = acl.allowedOnCluster('DESCRIBE') ? acl.operations('CLUSTER', CLUSTER_RESOURCE_NAME) : 0;
    }
    return {
      throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, endpointType: ENDPOINT_BROKERS,
      clusterId: b.clusterId, controllerId: b.leadership.controllerId(), clusterAuthorizedOperations,
      brokers: b.leadership.brokers().map((x) => ({ brokerId: x.nodeId, ...endpointFor(x, ctx.session?.listenerName), rack: x.rack })),
    };
  };
}
