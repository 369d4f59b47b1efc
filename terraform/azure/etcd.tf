# A three-member etcd cluster, one member per zone, bootstrapped statically on fixed addresses
# (Ubuntu's etcd-server package). etcd VMs get no identity.

resource "azurerm_network_interface" "etcd" {
  count               = 3
  name                = local.etcd_names[count.index]
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = merge(local.common_tags, { "ferry-role" = "etcd" })

  ip_configuration {
    name                          = "primary"
    subnet_id                     = azurerm_subnet.cluster.id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.etcd_ips[count.index]
  }
}

resource "azurerm_network_interface_application_security_group_association" "etcd" {
  count                         = 3
  network_interface_id          = azurerm_network_interface.etcd[count.index].id
  application_security_group_id = azurerm_application_security_group.etcd.id
}

resource "azurerm_linux_virtual_machine" "etcd" {
  count                 = 3
  name                  = local.etcd_names[count.index]
  location              = azurerm_resource_group.this.location
  resource_group_name   = azurerm_resource_group.this.name
  zone                  = var.zones[count.index]
  size                  = var.etcd_vm_size
  admin_username        = var.admin_username
  network_interface_ids = [azurerm_network_interface.etcd[count.index].id]

  admin_ssh_key {
    username   = var.admin_username
    public_key = var.admin_ssh_public_key
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

  custom_data = base64encode(templatefile("${path.module}/templates/etcd-cloud-init.yaml.tftpl", {
    etcd_name            = local.etcd_names[count.index]
    etcd_ip              = local.etcd_ips[count.index]
    etcd_initial_cluster = local.etcd_initial_cluster
    etcd_cluster_token   = "${var.cluster_name}-etcd"
  }))

  tags = merge(local.common_tags, { "ferry-role" = "etcd" })

  lifecycle {
    ignore_changes = [custom_data]
  }

  depends_on = [azurerm_subnet_nat_gateway_association.cluster, terraform_data.input_checks]
}
