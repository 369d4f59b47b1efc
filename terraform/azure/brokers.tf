# Brokers: zonal VMs spread over the three zones (broker i in zones[(i-1) mod 3]), each running
# Ferry with its WAL on a ZRS disk (disks.tf) and its objects in the storage account.

resource "azurerm_network_interface" "broker" {
  count               = var.broker_count
  name                = "${var.cluster_name}-${local.brokers[count.index].name}"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = merge(local.common_tags, { "ferry-role" = "broker" })

  ip_configuration {
    name                          = "primary"
    subnet_id                     = azurerm_subnet.cluster.id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.brokers[count.index].private_ip
  }
}

resource "azurerm_network_interface_application_security_group_association" "broker" {
  count                         = var.broker_count
  network_interface_id          = azurerm_network_interface.broker[count.index].id
  application_security_group_id = azurerm_application_security_group.broker.id
}

resource "azurerm_linux_virtual_machine" "broker" {
  count                 = var.broker_count
  name                  = "${var.cluster_name}-${local.brokers[count.index].name}"
  location              = azurerm_resource_group.this.location
  resource_group_name   = azurerm_resource_group.this.name
  zone                  = local.brokers[count.index].zone
  size                  = var.broker_vm_size
  admin_username        = var.admin_username
  network_interface_ids = [azurerm_network_interface.broker[count.index].id]

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.admin_ssh_public_key
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.broker.id]
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
    disk_size_gb         = 30
  }

  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }

  custom_data = base64encode(templatefile("${path.module}/templates/broker-cloud-init.yaml.tftpl", {
    install_script_json = jsonencode(templatefile("${path.module}/templates/ferry-install.sh.tftpl", {
      node_version     = var.node_version
      node_arch        = "x64"
      ferry_repository = var.ferry_repository
      ferry_version    = var.ferry_version
      wal_device       = var.wal_device_path
      azure_client_id  = azurerm_user_assigned_identity.broker.client_id
      security_enabled = tostring(var.security_enabled)
    }))
    secrets_script_json = jsonencode(local.secrets_script)
    ferry_properties_json = jsonencode(templatefile("${path.module}/templates/ferry.properties.tftpl", {
      node_id            = local.brokers[count.index].id
      cluster_name       = var.cluster_name
      rack               = "${var.location}-${local.brokers[count.index].zone}"
      listeners          = local.listeners
      advertised         = join(",", [for name, port in local.listener_ports : "${name}://${local.brokers[count.index].private_ip}:${port}"])
      security           = local.security_properties
      wal_device         = var.wal_device_path
      wal_capacity_bytes = var.wal_capacity_gib * 1024 * 1024 * 1024
      metrics_port       = var.metrics_port
      storage_account    = azurerm_storage_account.objects.name
      storage_container  = azurerm_storage_container.objects.name
      etcd_endpoints     = local.etcd_endpoints
      volume_id          = azurerm_managed_disk.wal[count.index].id
      session_timeout_ms = var.broker_session_timeout_ms
      num_partitions     = var.num_partitions
      log_level          = var.log_level
      extra_properties   = local.extra_properties
    }))
  }))

  tags = merge(local.common_tags, {
    "ferry-role"      = "broker"
    "ferry-broker-id" = tostring(local.brokers[count.index].id)
  })

  lifecycle {
    # Changed cloud-init must not silently replace a running broker; roll brokers one at a time.
    ignore_changes = [custom_data]
  }

  depends_on = [azurerm_linux_virtual_machine.etcd, azurerm_role_assignment.broker_blob, azurerm_role_assignment.broker_secrets, azurerm_subnet_nat_gateway_association.cluster]
}
