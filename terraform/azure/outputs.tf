output "bootstrap_servers" {
  description = "Kafka bootstrap servers (host:port, comma-separated): the brokers' fixed private addresses."
  value       = local.bootstrap_servers
}

output "brokers" {
  description = "Per broker: node id, name, zone, private IP, VM id and WAL disk id."
  value = [
    for i, b in local.brokers : {
      id         = b.id
      name       = b.name
      zone       = b.zone
      private_ip = b.private_ip
      vm_id      = azurerm_linux_virtual_machine.broker[i].id
      disk_id    = azurerm_managed_disk.wal[i].id
    }
  ]
}

output "drill_command" {
  description = "The failover drill to run from a host inside the virtual network (for example a broker): kills broker-2 and checks that its partitions come back without losing acknowledged data."
  value       = "ferry drill --bootstrap-server ${local.bootstrap_servers} --kill ${var.broker_count >= 2 ? "broker-2" : "broker-1"}"
}

output "etcd_endpoints" {
  description = "etcd client URLs (etcd.endpoints of the brokers)."
  value       = local.etcd_endpoints
}

output "storage_account_name" {
  description = "Storage account holding the cluster's objects (azure.blob.account)."
  value       = azurerm_storage_account.objects.name
}

output "storage_container_name" {
  description = "Blob container of the objects (azure.blob.container)."
  value       = azurerm_storage_container.objects.name
}

output "metrics_endpoints" {
  description = "Prometheus scrape targets (host:port) of the brokers' metrics.listener; /healthz and /readyz are served there too."
  value       = [for b in local.brokers : "${b.private_ip}:${var.metrics_port}"]
}

output "broker_identity_client_id" {
  description = "Client id of the brokers' user-assigned managed identity (AZURE_CLIENT_ID on the brokers)."
  value       = azurerm_user_assigned_identity.broker.client_id
}

output "resource_group_name" {
  description = "Resource group of the cluster."
  value       = azurerm_resource_group.this.name
}
