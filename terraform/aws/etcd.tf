# A three-member etcd cluster, one member per zone (quorum survives the loss of one zone),
# bootstrapped statically on fixed private addresses. Ubuntu's etcd-server package.

resource "aws_instance" "etcd" {
  count                  = 3
  ami                    = local.ami_id
  instance_type          = var.etcd_instance_type
  subnet_id              = local.subnet_ids[count.index]
  private_ip             = local.etcd_ips[count.index]
  vpc_security_group_ids = [aws_security_group.etcd.id]
  key_name               = var.key_name

  user_data = templatefile("${path.module}/templates/etcd-cloud-init.yaml.tftpl", {
    etcd_name            = local.etcd_names[count.index]
    etcd_ip              = local.etcd_ips[count.index]
    etcd_initial_cluster = local.etcd_initial_cluster
    etcd_cluster_token   = "${var.cluster_name}-etcd"
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_size_gib
    iops        = 3000
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    tags        = merge(local.common_tags, { "ferry:role" = "etcd" })
  }

  tags = merge(local.common_tags, {
    Name         = local.etcd_names[count.index]
    "ferry:role" = "etcd"
    "ferry:az"   = local.azs[count.index]
  })

  lifecycle {
    ignore_changes = [ami, user_data]
  }

  depends_on = [terraform_data.input_checks]
}
