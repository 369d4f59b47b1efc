"""ACL admin calls from kafka-python's KafkaAdminClient against a broker (create_acls, describe_acls,
delete_acls), printing what it saw as JSON. (confluent-kafka-python has ACL calls only from 1.9;
Debian's is 1.7.)

usage: acl_clients.py BOOTSTRAP
"""
import json
import sys


def kafka_python(bootstrap):
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourcePatternFilter, ResourceType)
    a = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    acl = ACL(principal="User:carol", host="*", operation=ACLOperation.DESCRIBE, permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, "kp-", ACLResourcePatternType.PREFIXED))
    r = a.create_acls([acl])
    created = {"succeeded": len(r["succeeded"]), "failed": len(r["failed"])}
    any_filter = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    acls, err = a.describe_acls(any_filter)

    def rows(items):
        return sorted(f"{x.resource_pattern.resource_type.name} {x.resource_pattern.pattern_type.name} {x.resource_pattern.resource_name} "
                      f"{x.permission_type.name} {x.principal} {x.host} {x.operation.name}" for x in items)

    carol = ACLFilter(principal="User:carol", host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                      resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    results = a.delete_acls([carol])
    deleted = [x for (_f, matched, _e) in results for (x, _c) in matched] if results and len(results[0]) == 3 else []
    a.close()
    return {"created": created, "describeError": err.__name__ if isinstance(err, type) else str(err), "all": rows(acls),
            "deleted": rows(deleted), "rawDelete": repr(results)[:500]}


if __name__ == "__main__":
    print(json.dumps(kafka_python(sys.argv[1])))
