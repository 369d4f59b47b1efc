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
  description = "The failover drill (docs/drill.md) to run from a host inside the virtual network with the ferry CLI and a signed-in Azure CLI that may stop and start the broker VMs: three kill-broker cycles that power a broker's VM off, so its ZRS WAL disk moves to a live broker (any zone) and is replayed; the drill then starts the VM again and checks that nothing acknowledged was lost."
  value       = local.drill_command_instance_stop
}

output "drill_command_process_kill" {
  description = "The drill with a process kill over SSH (systemctl kill): systemd restarts the broker before its lease expires, so this exercises WAL recovery, not the disk move. Needs SSH access (ssh_cidr_blocks)."
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

output "bootstrap_servers_ssl" {
  description = "Bootstrap servers of the SSL listener (host:port, comma-separated); null unless security_enabled."
  value       = var.security_enabled ? local.bootstrap_servers_ssl : null
}

output "bootstrap_servers_sasl_ssl" {
  description = "Bootstrap servers of the SASL_SSL listener (host:port, comma-separated); null unless security_enabled."
  value       = var.security_enabled ? local.bootstrap_servers_sasl_ssl : null
}

output "tls_certificate_names" {
  description = "The addresses the brokers' certificate (tls_keystore_secret_name) must name in its subjectAltName (IP entries): clients check the address they connect to (ssl.endpoint.identification.algorithm=https)."
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
