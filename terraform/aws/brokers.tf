# Brokers spread over the three zones (broker i in zone (i-1) mod 3), each with its own WAL
# volume in the same zone. EBS is zonal: the remount controller can move a volume only to a
# broker of the same zone. Volumes and instances carry ferry:cluster, which the IAM policy
# requires for AttachVolume/DetachVolume, and ferry:broker-id, which the controller reads.

resource "aws_ebs_volume" "wal" {
  count             = var.broker_count
  availability_zone = local.brokers[count.index].az
  type              = var.wal_volume_type
  size              = var.wal_volume_size_gib
  iops              = var.wal_volume_iops
  throughput        = var.wal_volume_type == "gp3" ? var.wal_volume_throughput_mibps : null
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  tags = merge(local.common_tags, {
    Name              = "${var.cluster_name}-${local.brokers[count.index].name}-wal"
    "ferry:role"      = "wal"
    "ferry:broker-id" = tostring(local.brokers[count.index].id)
    "ferry:az"        = local.brokers[count.index].az
  })

  depends_on = [terraform_data.input_checks]
}

resource "aws_instance" "broker" {
  count                  = var.broker_count
  ami                    = local.ami_id
  instance_type          = var.broker_instance_type
  subnet_id              = local.brokers[count.index].subnet_id
  private_ip             = local.brokers[count.index].private_ip
  vpc_security_group_ids = [aws_security_group.broker.id]
  iam_instance_profile   = aws_iam_instance_profile.broker.name
  key_name               = var.key_name
  ebs_optimized          = true

  user_data = templatefile("${path.module}/templates/broker-cloud-init.yaml.tftpl", {
    install_script_json = jsonencode(templatefile("${path.module}/templates/ferry-install.sh.tftpl", {
      node_version     = var.node_version
      node_arch        = local.node_arch
      ferry_repository = var.ferry_repository
      ferry_version    = var.ferry_version
      wal_device       = local.wal_devices[count.index]
      security_enabled = tostring(var.security_enabled)
    }))
    secrets_script_json = jsonencode(local.secrets_script)
    ferry_properties_json = jsonencode(templatefile("${path.module}/templates/ferry.properties.tftpl", {
      node_id            = local.brokers[count.index].id
      cluster_name       = var.cluster_name
      rack               = local.brokers[count.index].az
      listeners          = local.listeners
      advertised         = join(",", [for name, port in local.listener_ports : "${name}://${local.brokers[count.index].private_ip}:${port}"])
      security           = local.security_properties
      wal_device         = local.wal_devices[count.index]
      wal_capacity_bytes = var.wal_capacity_gib * 1024 * 1024 * 1024
      metrics_port       = var.metrics_port
      s3_bucket          = aws_s3_bucket.objects.bucket
      s3_prefix          = var.s3_prefix
      s3_region          = local.region
      etcd_endpoints     = local.etcd_endpoints
      volume_id          = aws_ebs_volume.wal[count.index].id
      session_timeout_ms = var.broker_session_timeout_ms
      num_partitions     = var.num_partitions
      log_level          = var.log_level
      extra_properties   = local.extra_properties
    }))
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_size_gib
    encrypted   = true
    kms_key_id  = var.kms_key_arn
    tags        = merge(local.common_tags, { "ferry:role" = "root" })
  }

  tags = merge(local.common_tags, {
    Name              = "${var.cluster_name}-${local.brokers[count.index].name}"
    "ferry:role"      = "broker"
    "ferry:broker-id" = tostring(local.brokers[count.index].id)
    "ferry:az"        = local.brokers[count.index].az
  })
  # No volume_tags: they would fight the WAL volume's own tags (aws_volume_attachment).

  lifecycle {
    # A new AMI or changed cloud-init must not silently replace a running broker: roll brokers
    # one at a time (terraform apply -replace=...), see docs/deploy-aws.md.
    ignore_changes = [ami, user_data]
  }

  depends_on = [aws_instance.etcd, aws_iam_role_policy.broker]
}

# The initial attachment. After a failover the remount controller may have moved the volume;
# plan then shows this attachment as to be re-created: do not apply during a failover.
resource "aws_volume_attachment" "wal" {
  count       = var.broker_count
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.wal[count.index].id
  instance_id = aws_instance.broker[count.index].id
}

locals {
  # Nitro instances expose EBS volumes as NVMe devices named after the volume id.
  wal_devices = [for v in aws_ebs_volume.wal : "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(v.id, "-", "")}"]
}
