output "bootstrap_servers" {
  description = "Kafka bootstrap servers of the cluster."
  value       = module.ferry.bootstrap_servers
}

output "drill_command" {
  description = "Failover drill to run from inside the virtual network."
  value       = module.ferry.drill_command
}

output "brokers" {
  description = "Brokers with their zones, VMs and WAL disks."
  value       = module.ferry.brokers
}

output "storage_account_name" {
  description = "Storage account of the cluster's objects."
  value       = module.ferry.storage_account_name
}
