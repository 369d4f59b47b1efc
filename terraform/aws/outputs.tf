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
  description = "The failover drill (docs/drill.md) to run from a host inside the VPC with the ferry CLI and AWS credentials (ec2:DescribeInstances, StopInstances, StartInstances): three kill-broker cycles that force-stop a broker's instance, so its WAL volume moves to a broker of the same zone and is replayed; the drill then starts the instance again and checks that nothing acknowledged was lost. Needs 4+ brokers (a second broker in the victim's zone); with fewer it is drill_command_process_kill."
  value       = var.broker_count >= 4 ? local.drill_command_instance_stop : local.drill_command_process_kill
}

output "drill_command_process_kill" {
  description = "The drill with a process kill over SSH (systemctl kill): systemd restarts the broker before its lease expires, so this exercises WAL recovery, not the volume move. Needs SSH access (key_name, ssh_cidr_blocks)."
  value       = local.drill_command_process_kill
}

output "cluster_name" {
  description = "Cluster name (cluster.name): the etcd prefix /ferry/<cluster_name>/ and ferry drill --cluster."
  value       = var.cluster_name
}

output "etcd_endpoints" {
  description = "etcd client URLs (etcd.endpoints of the brokers; ferry drill --etcd)."
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
