locals {
  common_tags = merge(var.tags, {
    "ferry-cluster" = var.cluster_name
  })

  resource_group_name = var.resource_group_name != null ? var.resource_group_name : "${var.cluster_name}-ferry"
  subnet_cidr         = var.subnet_cidr != null ? var.subnet_cidr : cidrsubnet(var.vnet_cidr, 24 - tonumber(split("/", var.vnet_cidr)[1]), 0)
  client_cidrs        = length(var.client_cidr_blocks) > 0 ? var.client_cidr_blocks : [var.vnet_cidr]
  metrics_cidrs       = length(var.metrics_cidr_blocks) > 0 ? var.metrics_cidr_blocks : [var.vnet_cidr]

  # Fixed private addresses, so etcd.endpoints and advertised.listeners are known up front.
  etcd_names           = [for i in range(3) : "${var.cluster_name}-etcd-${i + 1}"]
  etcd_ips             = [for i in range(3) : cidrhost(local.subnet_cidr, var.etcd_host_number + i)]
  etcd_endpoints       = join(",", [for ip in local.etcd_ips : "http://${ip}:2379"])
  etcd_initial_cluster = join(",", [for i in range(3) : "${local.etcd_names[i]}=http://${local.etcd_ips[i]}:2380"])

  brokers = [
    for i in range(var.broker_count) : {
      id         = i + 1
      name       = "broker-${i + 1}"
      zone       = var.zones[i % 3]
      private_ip = cidrhost(local.subnet_cidr, var.etcd_host_number + 3 + i)
    }
  ]
  # The PLAINTEXT listener's addresses, or the SASL_SSL listener's when PLAINTEXT is off (security.tf).
  bootstrap_servers = var.plaintext_listener_enabled ? local.bootstrap_servers_plaintext : local.bootstrap_servers_sasl_ssl
  # Client ports of the brokers: PLAINTEXT and, with security_enabled, SSL and SASL_SSL.
  kafka_ports = [for name, port in local.listener_ports : tostring(port)]

  storage_account_name = var.storage_account_name != null ? var.storage_account_name : substr("${replace(var.cluster_name, "-", "")}ferry${random_string.storage_suffix.result}", 0, 24)
  extra_properties     = join("\n", [for k in sort(keys(var.extra_properties)) : "${k}=${var.extra_properties[k]}"])
}

resource "random_string" "storage_suffix" {
  length  = 6
  lower   = true
  upper   = false
  numeric = true
  special = false
}

resource "azurerm_resource_group" "this" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.common_tags
}

# Cross-input checks (variable validations can only see their own variable before Terraform 1.9).
resource "terraform_data" "input_checks" {
  input = var.cluster_name

  lifecycle {
    precondition {
      condition     = var.wal_capacity_gib <= var.wal_disk_size_gib
      error_message = "wal_capacity_gib must not exceed wal_disk_size_gib."
    }
    precondition {
      condition     = can(cidrhost(local.subnet_cidr, var.etcd_host_number + 3 + var.broker_count))
      error_message = "subnet_cidr is too small for etcd and all brokers at etcd_host_number."
    }
  }
}

# ---- network

resource "azurerm_virtual_network" "this" {
  name                = "${var.cluster_name}-vnet"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  address_space       = [var.vnet_cidr]
  tags                = local.common_tags
}

resource "azurerm_subnet" "cluster" {
  name                 = "${var.cluster_name}-cluster"
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [local.subnet_cidr]
  # Blob traffic stays on the Azure backbone and the storage firewall can admit this subnet.
  service_endpoints = ["Microsoft.Storage"]
}

# Outbound access for package installs (Azure no longer gives new VMs implicit outbound access).
resource "azurerm_public_ip" "nat" {
  name                = "${var.cluster_name}-nat"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = var.zones
  tags                = local.common_tags
}

resource "azurerm_nat_gateway" "this" {
  name                = "${var.cluster_name}-nat"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  sku_name            = "Standard"
  tags                = local.common_tags
}

resource "azurerm_nat_gateway_public_ip_association" "this" {
  nat_gateway_id       = azurerm_nat_gateway.this.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "cluster" {
  subnet_id      = azurerm_subnet.cluster.id
  nat_gateway_id = azurerm_nat_gateway.this.id
}

resource "azurerm_application_security_group" "broker" {
  name                = "${var.cluster_name}-broker"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = merge(local.common_tags, { "ferry-role" = "broker" })
}

resource "azurerm_application_security_group" "etcd" {
  name                = "${var.cluster_name}-etcd"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = merge(local.common_tags, { "ferry-role" = "etcd" })
}

resource "azurerm_network_security_group" "cluster" {
  name                = "${var.cluster_name}-cluster"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.common_tags

  security_rule {
    name                                       = "kafka-clients"
    priority                                   = 100
    direction                                  = "Inbound"
    access                                     = "Allow"
    protocol                                   = "Tcp"
    source_address_prefixes                    = local.client_cidrs
    source_port_range                          = "*"
    destination_application_security_group_ids = [azurerm_application_security_group.broker.id]
    destination_port_ranges                    = local.kafka_ports
  }

  security_rule {
    name                                       = "kafka-brokers"
    priority                                   = 105
    direction                                  = "Inbound"
    access                                     = "Allow"
    protocol                                   = "Tcp"
    source_application_security_group_ids      = [azurerm_application_security_group.broker.id]
    source_port_range                          = "*"
    destination_application_security_group_ids = [azurerm_application_security_group.broker.id]
    destination_port_ranges                    = local.kafka_ports
  }

  security_rule {
    name                                       = "metrics"
    priority                                   = 110
    direction                                  = "Inbound"
    access                                     = "Allow"
    protocol                                   = "Tcp"
    source_address_prefixes                    = local.metrics_cidrs
    source_port_range                          = "*"
    destination_application_security_group_ids = [azurerm_application_security_group.broker.id]
    destination_port_range                     = tostring(var.metrics_port)
  }

  security_rule {
    name                                       = "etcd-clients"
    priority                                   = 120
    direction                                  = "Inbound"
    access                                     = "Allow"
    protocol                                   = "Tcp"
    source_application_security_group_ids      = [azurerm_application_security_group.broker.id, azurerm_application_security_group.etcd.id]
    source_port_range                          = "*"
    destination_application_security_group_ids = [azurerm_application_security_group.etcd.id]
    destination_port_range                     = "2379"
  }

  security_rule {
    name                                       = "etcd-peers"
    priority                                   = 130
    direction                                  = "Inbound"
    access                                     = "Allow"
    protocol                                   = "Tcp"
    source_application_security_group_ids      = [azurerm_application_security_group.etcd.id]
    source_port_range                          = "*"
    destination_application_security_group_ids = [azurerm_application_security_group.etcd.id]
    destination_port_range                     = "2380"
  }

  dynamic "security_rule" {
    for_each = length(var.ssh_cidr_blocks) > 0 ? [1] : []
    content {
      name                       = "ssh"
      priority                   = 140
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      source_address_prefixes    = var.ssh_cidr_blocks
      source_port_range          = "*"
      destination_address_prefix = "VirtualNetwork"
      destination_port_range     = "22"
    }
  }

  # The default rules allow all traffic inside the VNet; only the rules above may reach the VMs.
  security_rule {
    name                       = "deny-other-vnet-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_address_prefix      = "VirtualNetwork"
    source_port_range          = "*"
    destination_address_prefix = "VirtualNetwork"
    destination_port_range     = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "cluster" {
  subnet_id                 = azurerm_subnet.cluster.id
  network_security_group_id = azurerm_network_security_group.cluster.id
}

# ---- identity: one user-assigned identity for all brokers (blob data and WAL disk moves)

resource "azurerm_user_assigned_identity" "broker" {
  name                = "${var.cluster_name}-broker"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = merge(local.common_tags, { "ferry-role" = "broker" })
}
