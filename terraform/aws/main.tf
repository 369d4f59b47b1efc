data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_subnet" "existing" {
  count = length(var.subnet_ids)
  id    = var.subnet_ids[count.index]
}

data "aws_ami" "ubuntu" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["099720109477"] # Canonical

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${var.architecture == "arm64" ? "arm64" : "amd64"}-server-*"]
  }

  filter {
    name   = "architecture"
    values = [var.architecture]
  }
}

locals {
  create_vpc = var.vpc_id == null

  common_tags = merge(var.tags, {
    "ferry:cluster" = var.cluster_name
  })

  region = data.aws_region.current.name
  ami_id = var.ami_id != null ? var.ami_id : data.aws_ami.ubuntu[0].id

  # One subnet per zone, either created here or given.
  azs          = local.create_vpc ? (length(var.availability_zones) == 3 ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 3)) : data.aws_subnet.existing[*].availability_zone
  vpc_id       = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  vpc_cidr     = local.create_vpc ? var.vpc_cidr : data.aws_vpc.existing[0].cidr_block
  subnet_ids   = local.create_vpc ? aws_subnet.private[*].id : var.subnet_ids
  subnet_cidrs = local.create_vpc ? aws_subnet.private[*].cidr_block : data.aws_subnet.existing[*].cidr_block

  client_cidrs  = length(var.client_cidr_blocks) > 0 ? var.client_cidr_blocks : [local.vpc_cidr]
  metrics_cidrs = length(var.metrics_cidr_blocks) > 0 ? var.metrics_cidr_blocks : [local.vpc_cidr]

  # Fixed private addresses: etcd at etcd_host_number in each subnet, brokers after it, so the
  # configs (etcd.endpoints, advertised.listeners) are known before the instances exist.
  etcd_names           = [for i in range(3) : "${var.cluster_name}-etcd-${i + 1}"]
  etcd_ips             = [for i in range(3) : cidrhost(local.subnet_cidrs[i], var.etcd_host_number)]
  etcd_endpoints       = join(",", [for ip in local.etcd_ips : "http://${ip}:2379"])
  etcd_initial_cluster = join(",", [for i in range(3) : "${local.etcd_names[i]}=http://${local.etcd_ips[i]}:2380"])

  brokers = [
    for i in range(var.broker_count) : {
      id        = i + 1
      name      = "broker-${i + 1}"
      zone_idx  = i % 3
      az        = local.azs[i % 3]
      subnet_id = local.subnet_ids[i % 3]
      # Brokers in one zone take consecutive host numbers after etcd's.
      private_ip = cidrhost(local.subnet_cidrs[i % 3], var.etcd_host_number + 1 + floor(i / 3))
    }
  ]
  # The PLAINTEXT listener's addresses, or the SASL_SSL listener's when PLAINTEXT is off (security.tf).
  bootstrap_servers = var.plaintext_listener_enabled ? local.bootstrap_servers_plaintext : local.bootstrap_servers_sasl_ssl

  bucket_name = var.bucket_name != null ? var.bucket_name : "${var.cluster_name}-ferry-${data.aws_caller_identity.current.account_id}-${local.region}"
  bucket_arn  = "arn:${data.aws_partition.current.partition}:s3:::${local.bucket_name}"
  node_arch   = var.architecture == "arm64" ? "arm64" : "x64"

  extra_properties = join("\n", [for k in sort(keys(var.extra_properties)) : "${k}=${var.extra_properties[k]}"])
}

data "aws_vpc" "existing" {
  count = local.create_vpc ? 0 : 1
  id    = var.vpc_id
}

# Cross-input checks (variable validations can only see their own variable before Terraform 1.9).
resource "terraform_data" "input_checks" {
  input = var.cluster_name

  lifecycle {
    precondition {
      condition     = (var.vpc_id == null) == (length(var.subnet_ids) == 0)
      error_message = "Set vpc_id and subnet_ids together, or neither (the module then creates the network)."
    }
    precondition {
      condition     = length(distinct(local.azs)) == 3
      error_message = "The three subnets must be in three different availability zones."
    }
    precondition {
      condition     = var.wal_capacity_gib <= var.wal_volume_size_gib
      error_message = "wal_capacity_gib must not exceed wal_volume_size_gib."
    }
    precondition {
      condition     = var.wal_volume_type == "io2" || (var.wal_volume_iops >= 3000 && var.wal_volume_iops <= 16000)
      error_message = "gp3 WAL volumes take 3000 to 16000 IOPS."
    }
    precondition {
      condition     = var.wal_volume_type == "gp3" || var.wal_volume_iops <= var.wal_volume_size_gib * 1000
      error_message = "io2 volumes allow at most 1000 IOPS per GiB: raise wal_volume_size_gib or lower wal_volume_iops."
    }
  }
}
