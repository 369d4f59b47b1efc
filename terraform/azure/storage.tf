# Objects: a zone-redundant storage account with one private container. Access is Azure AD only
# (shared keys disabled): the brokers' managed identity gets Storage Blob Data Contributor on
# that container and nothing else. Ferry deletes objects itself (retention, compaction), so
# versioning and soft delete stay off.

resource "azurerm_storage_account" "objects" {
  name                            = local.storage_account_name
  resource_group_name             = azurerm_resource_group.this.name
  location                        = azurerm_resource_group.this.location
  account_kind                    = "StorageV2"
  account_tier                    = "Standard"
  account_replication_type        = var.storage_replication
  access_tier                     = "Hot"
  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  tags                            = merge(local.common_tags, { "ferry-role" = "objects" })

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    virtual_network_subnet_ids = [azurerm_subnet.cluster.id]
  }
}

resource "azurerm_storage_container" "objects" {
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.objects.id
  container_access_type = "private"
}

resource "azurerm_storage_management_policy" "objects" {
  count              = var.cool_tier_after_days == null ? 0 : 1
  storage_account_id = azurerm_storage_account.objects.id

  rule {
    name    = "cool-after-${var.cool_tier_after_days}-days"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${var.container_name}/"]
    }
    actions {
      base_blob {
        tier_to_cool_after_days_since_modification_greater_than = var.cool_tier_after_days
      }
    }
  }
}

resource "azurerm_role_assignment" "broker_blob" {
  scope                = azurerm_storage_container.objects.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.broker.principal_id
  principal_type       = "ServicePrincipal"
}
