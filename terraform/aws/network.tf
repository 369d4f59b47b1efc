# The network the module creates when vpc_id is null: private subnets (brokers, etcd) in three
# zones, public subnets holding one NAT gateway for package installs, and an S3 gateway endpoint
# so uploads and reads of objects bypass the NAT gateway (no per-GB NAT charge).

resource "aws_vpc" "this" {
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.common_tags, { Name = "${var.cluster_name}-vpc" })
}

resource "aws_subnet" "private" {
  count             = local.create_vpc ? 3 : 0
  vpc_id            = aws_vpc.this[0].id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = merge(local.common_tags, { Name = "${var.cluster_name}-private-${local.azs[count.index]}", "ferry:tier" = "private" })
}

resource "aws_subnet" "public" {
  count                   = local.create_vpc ? 3 : 0
  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, 8 + count.index)
  map_public_ip_on_launch = false
  tags                    = merge(local.common_tags, { Name = "${var.cluster_name}-public-${local.azs[count.index]}", "ferry:tier" = "public" })
}

resource "aws_internet_gateway" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.common_tags, { Name = "${var.cluster_name}-igw" })
}

resource "aws_eip" "nat" {
  count  = local.create_vpc ? 1 : 0
  domain = "vpc"
  tags   = merge(local.common_tags, { Name = "${var.cluster_name}-nat" })
}

resource "aws_nat_gateway" "this" {
  count         = local.create_vpc ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = merge(local.common_tags, { Name = "${var.cluster_name}-nat" })
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }
  tags = merge(local.common_tags, { Name = "${var.cluster_name}-public" })
}

resource "aws_route_table_association" "public" {
  count          = local.create_vpc ? 3 : 0
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this[0].id
  }
  tags = merge(local.common_tags, { Name = "${var.cluster_name}-private" })
}

resource "aws_route_table_association" "private" {
  count          = local.create_vpc ? 3 : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_vpc_endpoint" "s3" {
  count             = local.create_vpc ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]
  tags              = merge(local.common_tags, { Name = "${var.cluster_name}-s3" })
}

# ---- security groups

resource "aws_security_group" "broker" {
  name_prefix = "${var.cluster_name}-broker-"
  description = "Ferry brokers: Kafka from clients, metrics/health from scrapers"
  vpc_id      = local.vpc_id
  tags        = merge(local.common_tags, { Name = "${var.cluster_name}-broker", "ferry:role" = "broker" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "broker_kafka" {
  for_each          = var.plaintext_listener_enabled ? toset(local.client_cidrs) : toset([])
  security_group_id = aws_security_group.broker.id
  description       = "Kafka clients (PLAINTEXT)"
  ip_protocol       = "tcp"
  from_port         = var.kafka_port
  to_port           = var.kafka_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "broker_kafka_self" {
  count                        = var.plaintext_listener_enabled ? 1 : 0
  security_group_id            = aws_security_group.broker.id
  description                  = "Kafka between brokers (drills, tools run on a broker)"
  ip_protocol                  = "tcp"
  from_port                    = var.kafka_port
  to_port                      = var.kafka_port
  referenced_security_group_id = aws_security_group.broker.id
}

# The rule had no count before the security variables: keep the existing one.
moved {
  from = aws_vpc_security_group_ingress_rule.broker_kafka_self
  to   = aws_vpc_security_group_ingress_rule.broker_kafka_self[0]
}

# TLS and SASL listeners (security_enabled): clients on both, brokers among themselves on SASL_SSL.
resource "aws_vpc_security_group_ingress_rule" "broker_ssl" {
  for_each          = var.security_enabled ? toset(local.client_cidrs) : toset([])
  security_group_id = aws_security_group.broker.id
  description       = "Kafka clients (SSL)"
  ip_protocol       = "tcp"
  from_port         = var.ssl_port
  to_port           = var.ssl_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "broker_sasl_ssl" {
  for_each          = var.security_enabled ? toset(local.client_cidrs) : toset([])
  security_group_id = aws_security_group.broker.id
  description       = "Kafka clients (SASL_SSL)"
  ip_protocol       = "tcp"
  from_port         = var.sasl_ssl_port
  to_port           = var.sasl_ssl_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "broker_sasl_ssl_self" {
  count                        = var.security_enabled ? 1 : 0
  security_group_id            = aws_security_group.broker.id
  description                  = "Kafka between brokers (inter-broker listener SASL_SSL; tools run on a broker)"
  ip_protocol                  = "tcp"
  from_port                    = var.sasl_ssl_port
  to_port                      = var.sasl_ssl_port
  referenced_security_group_id = aws_security_group.broker.id
}

resource "aws_vpc_security_group_ingress_rule" "broker_metrics" {
  for_each          = toset(local.metrics_cidrs)
  security_group_id = aws_security_group.broker.id
  description       = "Prometheus /metrics, /healthz, /readyz"
  ip_protocol       = "tcp"
  from_port         = var.metrics_port
  to_port           = var.metrics_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "broker_ssh" {
  for_each          = toset(var.ssh_cidr_blocks)
  security_group_id = aws_security_group.broker.id
  description       = "SSH"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "broker_all" {
  security_group_id = aws_security_group.broker.id
  description       = "S3, EC2 and package mirrors; etcd"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "etcd" {
  name_prefix = "${var.cluster_name}-etcd-"
  description = "Ferry etcd: clients from brokers, peers from etcd"
  vpc_id      = local.vpc_id
  tags        = merge(local.common_tags, { Name = "${var.cluster_name}-etcd", "ferry:role" = "etcd" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "etcd_client_from_brokers" {
  security_group_id            = aws_security_group.etcd.id
  description                  = "etcd clients (brokers)"
  ip_protocol                  = "tcp"
  from_port                    = 2379
  to_port                      = 2379
  referenced_security_group_id = aws_security_group.broker.id
}

resource "aws_vpc_security_group_ingress_rule" "etcd_client_from_etcd" {
  security_group_id            = aws_security_group.etcd.id
  description                  = "etcd clients (health checks between members)"
  ip_protocol                  = "tcp"
  from_port                    = 2379
  to_port                      = 2379
  referenced_security_group_id = aws_security_group.etcd.id
}

resource "aws_vpc_security_group_ingress_rule" "etcd_peer" {
  security_group_id            = aws_security_group.etcd.id
  description                  = "etcd peers"
  ip_protocol                  = "tcp"
  from_port                    = 2380
  to_port                      = 2380
  referenced_security_group_id = aws_security_group.etcd.id
}

resource "aws_vpc_security_group_ingress_rule" "etcd_ssh" {
  for_each          = toset(var.ssh_cidr_blocks)
  security_group_id = aws_security_group.etcd.id
  description       = "SSH"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "etcd_all" {
  security_group_id = aws_security_group.etcd.id
  description       = "package mirrors, peers"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
