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

output "bootstrap_servers_ssl" {
  description = "Bootstrap servers of the SSL listener (host:port, comma-separated); null unless security_enabled."
  value       = var.security_enabled ? local.bootstrap_servers_ssl : null
}

output "bootstrap_servers_sasl_ssl" {
  description = "Bootstrap servers of the SASL_SSL listener (host:port, comma-separated); null unless security_enabled."
  value       = var.security_enabled ? local.bootstrap_servers_sasl_ssl : null
}

output "tls_certificate_names" {
  description = "The addresses the brokers' certificate (tls_keystore_secret_arn) must name in its subjectAltName (IP entries): clients check the address they connect to (ssl.endpoint.identification.algorithm=https)."
  value       = [for b in local.brokers : b.private_ip]
}

output "client_properties" {
  description = "A client properties file for the SASL_SSL listener (Kafka tools' --command-config, ferry --command-config, librdkafka -F): fill in a user's password; with a private CA, point ssl.truststore.location at its PEM file. Holds no secret."
  value       = <<-EOT
    # bootstrap.servers=${local.bootstrap_servers_sasl_ssl}
    security.protocol=SASL_SSL
    sasl.mechanism=SCRAM-SHA-512
    sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="<user>" password="<password>";
    ssl.truststore.type=PEM
    ssl.truststore.location=<CA certificates PEM file>
  EOT
}
