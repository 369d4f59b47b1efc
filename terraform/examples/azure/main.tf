# A three-broker Ferry cluster over the three zones of an Azure region, WAL on ZRS disks.
#   terraform init && terraform apply \
#     -var subscription_id=... -var ferry_repository=https://github.com/<you>/ferry.git \
#     -var "admin_ssh_public_key=$(cat ~/.ssh/id_ed25519.pub)"
# Then, from a host inside the virtual network with the ferry CLI and an Azure CLI that may stop
# and start the broker VMs (not a broker): terraform output -raw drill_command

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

module "ferry" {
  source = "../../azure"

  cluster_name         = var.cluster_name
  location             = var.location
  ferry_repository     = var.ferry_repository
  ferry_version        = var.ferry_version
  admin_ssh_public_key = var.admin_ssh_public_key

  broker_count      = 3
  broker_vm_size    = "Standard_D4s_v5"
  wal_disk_sku      = "Premium_ZRS"
  wal_disk_size_gib = 64

  broker_session_timeout_ms = 6000
  cool_tier_after_days      = 60
  client_cidr_blocks        = var.client_cidr_blocks

  tags = {
    environment = "example"
  }
}
