# WAL disks: one zone-redundant (ZRS) managed disk per broker. A ZRS disk has no zone: it can
# be attached to a VM in any zone, so the remount controller can move a dead broker's WAL to a
# broker in another zone and replay it even when a whole zone is down.
#
# Disk-move rights: a custom role with only what attach/detach needs, assigned to the brokers'
# identity on each WAL disk and each broker VM (not on the resource group or subscription).

resource "azurerm_managed_disk" "wal" {
  count                = var.broker_count
  name                 = "${var.cluster_name}-${local.brokers[count.index].name}-wal"
  location             = azurerm_resource_group.this.location
  resource_group_name  = azurerm_resource_group.this.name
  storage_account_type = var.wal_disk_sku
  create_option        = "Empty"
  disk_size_gb         = var.wal_disk_size_gib
  tags = merge(local.common_tags, {
    "ferry-role"      = "wal"
    "ferry-broker-id" = tostring(local.brokers[count.index].id)
  })

  depends_on = [terraform_data.input_checks]
}

resource "azurerm_role_definition" "wal_disk_mover" {
  name        = "${var.cluster_name}-ferry-wal-disk-mover"
  scope       = azurerm_resource_group.this.id
  description = "Attach and detach Ferry WAL disks (ZRS) to and from Ferry broker VMs of cluster ${var.cluster_name}."

  permissions {
    actions = [
      "Microsoft.Compute/disks/read",
      "Microsoft.Compute/disks/write",
      "Microsoft.Compute/virtualMachines/read",
      "Microsoft.Compute/virtualMachines/write",
    ]
    not_actions = []
  }

  assignable_scopes = [azurerm_resource_group.this.id]
}

resource "azurerm_role_assignment" "broker_wal_disk" {
  count              = var.broker_count
  scope              = azurerm_managed_disk.wal[count.index].id
  role_definition_id = azurerm_role_definition.wal_disk_mover.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.broker.principal_id
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_assignment" "broker_vm" {
  count              = var.broker_count
  scope              = azurerm_linux_virtual_machine.broker[count.index].id
  role_definition_id = azurerm_role_definition.wal_disk_mover.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.broker.principal_id
  principal_type     = "ServicePrincipal"
}

# The initial attachment; host caching off, so an fdatasync reaches the replicated disk.
# After a failover the remount controller may have moved the disk; plan then shows this
# attachment as to be re-created: do not apply during a failover.
resource "azurerm_virtual_machine_data_disk_attachment" "wal" {
  count              = var.broker_count
  managed_disk_id    = azurerm_managed_disk.wal[count.index].id
  virtual_machine_id = azurerm_linux_virtual_machine.broker[count.index].id
  lun                = 0
  caching            = "None"
}
