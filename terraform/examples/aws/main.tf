# A six-broker Ferry cluster in a new VPC across three availability zones: two brokers per zone,
# so a dead broker's WAL volume (EBS, zonal) can move to the other broker of its zone.
#   terraform init && terraform apply -var ferry_repository=https://github.com/<you>/ferry.git
# Then, from a host inside the VPC with the ferry CLI and AWS credentials that may stop and start
# the broker instances (not a broker): terraform output -raw drill_command

provider "aws" {
  region = var.region
}

module "ferry" {
  source = "../../aws"

  cluster_name     = var.cluster_name
  ferry_repository = var.ferry_repository
  ferry_version    = var.ferry_version

  broker_count         = 6
  broker_instance_type = "m7g.large"
  architecture         = "arm64"

  wal_volume_type             = "gp3"
  wal_volume_size_gib         = 32
  wal_volume_iops             = 6000
  wal_volume_throughput_mibps = 250

  broker_session_timeout_ms    = 6000
  infrequent_access_after_days = 60
  client_cidr_blocks           = var.client_cidr_blocks

  tags = {
    environment = "example"
  }
}
