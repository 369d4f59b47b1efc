output "bootstrap_servers" {
  description = "Kafka bootstrap servers (host:port, comma-separated): the brokers' fixed private addresses."
  value       = local.bootstrap_servers
}

output "brokers" {
  description = "Per broker: node id, name, availability zone, private IP, instance id and WAL volume id."
  value = [
    for i, b in local.brokers : {
      id          = b.id
      name        = b.name
      az          = b.az
      private_ip  = b.private_ip
      instance_id = aws_instance.broker[i].id
      volume_id   = aws_ebs_volume.wal[i].id
    }
  ]
}

output "drill_command" {
  description = "The failover drill to run from a host inside the VPC (for example a broker): kills broker-2 and checks that its partitions come back without losing acknowledged data."
  value       = "ferry drill --bootstrap-server ${local.bootstrap_servers} --kill ${var.broker_count >= 2 ? "broker-2" : "broker-1"}"
}

output "etcd_endpoints" {
  description = "etcd client URLs (etcd.endpoints of the brokers)."
  value       = local.etcd_endpoints
}

output "bucket_name" {
  description = "S3 bucket holding the cluster's objects."
  value       = aws_s3_bucket.objects.bucket
}

output "metrics_endpoints" {
  description = "Prometheus scrape targets (host:port) of the brokers' metrics.listener; /healthz and /readyz are served there too."
  value       = [for b in local.brokers : "${b.private_ip}:${var.metrics_port}"]
}

output "broker_role_arn" {
  description = "IAM role of the brokers' instance profile."
  value       = aws_iam_role.broker.arn
}

output "vpc_id" {
  description = "VPC of the cluster (created or given)."
  value       = local.vpc_id
}

output "security_group_ids" {
  description = "Security groups of brokers and etcd nodes, to allow clients from other groups."
  value = {
    broker = aws_security_group.broker.id
    etcd   = aws_security_group.etcd.id
  }
}
