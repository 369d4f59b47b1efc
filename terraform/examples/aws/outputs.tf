output "bootstrap_servers" {
  description = "Kafka bootstrap servers of the cluster."
  value       = module.ferry.bootstrap_servers
}

output "drill_command" {
  description = "The failover drill (ferry drill, kill-broker, 3 cycles) to run from a host inside the VPC."
  value       = module.ferry.drill_command
}

output "drill_command_process_kill" {
  description = "The drill with a process kill over SSH (WAL recovery, no volume move)."
  value       = module.ferry.drill_command_process_kill
}

output "etcd_endpoints" {
  description = "etcd client URLs (ferry drill --etcd; etcdctl)."
  value       = module.ferry.etcd_endpoints
}

output "cluster_name" {
  description = "Cluster name (ferry drill --cluster; etcd prefix /ferry/<cluster_name>/)."
  value       = module.ferry.cluster_name
}

output "brokers" {
  description = "Brokers with their zones, instances and WAL volumes."
  value       = module.ferry.brokers
}

output "bucket_name" {
  description = "S3 bucket of the cluster's objects."
  value       = module.ferry.bucket_name
}
