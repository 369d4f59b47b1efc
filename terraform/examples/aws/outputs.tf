output "bootstrap_servers" {
  description = "Kafka bootstrap servers of the cluster."
  value       = module.ferry.bootstrap_servers
}

output "drill_command" {
  description = "Failover drill to run from inside the VPC."
  value       = module.ferry.drill_command
}

output "brokers" {
  description = "Brokers with their zones, instances and WAL volumes."
  value       = module.ferry.brokers
}

output "bucket_name" {
  description = "S3 bucket of the cluster's objects."
  value       = module.ferry.bucket_name
}
