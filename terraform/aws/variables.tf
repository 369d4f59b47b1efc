# ---- cluster

variable "cluster_name" {
  type        = string
  description = "Name of the Ferry cluster (cluster.name): prefixes resource names, tags every resource (ferry:cluster) and scopes the IAM volume permissions."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-32 characters of a-z, 0-9 and '-', starting and ending with a letter or digit (it is also part of the S3 bucket name)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource. The module adds ferry:cluster and ferry:role itself."
  default     = {}
}

variable "ferry_repository" {
  type        = string
  description = "Git URL of the Ferry source that cloud-init checks out and builds on each broker (https)."
  validation {
    condition     = can(regex("^https://", var.ferry_repository))
    error_message = "ferry_repository must be an https:// git URL."
  }
}

variable "ferry_version" {
  type        = string
  description = "Git tag, branch or commit of ferry_repository to deploy."
  default     = "main"
  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,100}$", var.ferry_version))
    error_message = "ferry_version must be a git ref of letters, digits, '.', '_', '/' or '-'."
  }
}

variable "node_version" {
  type        = string
  description = "Node.js version installed on brokers from nodejs.org (checksum-verified). Ferry needs Node 20.11 or later; 22 LTS is recommended."
  default     = "22.23.3"
  validation {
    condition     = can(regex("^(2[2-9]|[3-9][0-9])\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must be a full version (x.y.z) of Node 22 or later."
  }
}

# ---- network

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC the module creates (ignored when vpc_id is set)."
  default     = "10.42.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR of /20 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Three availability zones for the created subnets; empty picks the region's first three. Ignored when subnet_ids is set (the subnets' zones are used)."
  default     = []
  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3)
    error_message = "availability_zones must be empty or list three distinct zones."
  }
}

variable "vpc_id" {
  type        = string
  description = "An existing VPC to deploy into; null creates a VPC with private subnets, a NAT gateway and an S3 gateway endpoint. Set together with subnet_ids."
  default     = null
  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Three existing subnets of vpc_id, one per availability zone, for brokers and etcd (with egress to the internet or mirrors, and to S3 and EC2 APIs). Empty when the module creates the VPC."
  default     = []
  validation {
    condition     = length(var.subnet_ids) == 0 || (length(var.subnet_ids) == 3 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))]))
    error_message = "subnet_ids must be empty or three subnet ids (subnet-...)."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to reach the brokers' Kafka port. Empty means the VPC's CIDR."
  default     = []
  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "client_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "metrics_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to scrape /metrics and call /healthz and /readyz on the brokers. Empty means the VPC's CIDR."
  default     = []
  validation {
    condition     = alltrue([for c in var.metrics_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "metrics_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "ssh_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to SSH to brokers and etcd nodes; empty opens no SSH port."
  default     = []
  validation {
    condition     = alltrue([for c in var.ssh_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "ssh_cidr_blocks must be IPv4 CIDRs and not 0.0.0.0/0."
  }
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH; null for none."
  default     = null
  validation {
    condition     = var.key_name == null || try(length(var.key_name) >= 1 && length(var.key_name) <= 255, false)
    error_message = "key_name must be null or the name of an EC2 key pair (1-255 characters)."
  }
}

variable "kafka_port" {
  type        = number
  description = "Kafka listener port of the brokers."
  default     = 9092
  validation {
    condition     = var.kafka_port >= 1024 && var.kafka_port <= 65535 && floor(var.kafka_port) == var.kafka_port
    error_message = "kafka_port must be an integer from 1024 to 65535."
  }
}

variable "metrics_port" {
  type        = number
  description = "Port of metrics.listener (Prometheus /metrics, /healthz, /readyz)."
  default     = 9644
  validation {
    condition     = var.metrics_port >= 1024 && var.metrics_port <= 65535 && floor(var.metrics_port) == var.metrics_port
    error_message = "metrics_port must be an integer from 1024 to 65535."
  }
}

# ---- brokers

variable "broker_count" {
  type        = number
  description = "Number of brokers; broker i (1-based) goes to availability zone (i-1) mod 3, so three or more brokers cover every zone."
  default     = 3
  validation {
    condition     = var.broker_count >= 1 && var.broker_count <= 60 && floor(var.broker_count) == var.broker_count
    error_message = "broker_count must be an integer from 1 to 60."
  }
}

variable "architecture" {
  type        = string
  description = "CPU architecture of the instances: arm64 (Graviton) or x86_64. Must match the instance types."
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "broker_instance_type" {
  type        = string
  description = "EC2 instance type of the brokers (Nitro, for NVMe EBS device names)."
  default     = "m7g.large"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.broker_instance_type))
    error_message = "broker_instance_type must be an EC2 instance type such as m7g.large."
  }
}

variable "ami_id" {
  type        = string
  description = "AMI for brokers and etcd nodes; null uses the latest Ubuntu 24.04 LTS for the architecture."
  default     = null
  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "root_volume_size_gib" {
  type        = number
  description = "Root volume size of brokers and etcd nodes, in GiB."
  default     = 30
  validation {
    condition     = var.root_volume_size_gib >= 16 && var.root_volume_size_gib <= 1024
    error_message = "root_volume_size_gib must be from 16 to 1024."
  }
}

variable "wal_volume_type" {
  type        = string
  description = "EBS type of the WAL volumes: gp3, or io2 for the lowest fsync latency."
  default     = "gp3"
  validation {
    condition     = contains(["gp3", "io2"], var.wal_volume_type)
    error_message = "wal_volume_type must be gp3 or io2."
  }
}

variable "wal_volume_size_gib" {
  type        = number
  description = "Size of each broker's WAL volume, in GiB (at least wal_capacity_gib)."
  default     = 32
  validation {
    condition     = var.wal_volume_size_gib >= 4 && var.wal_volume_size_gib <= 16384 && floor(var.wal_volume_size_gib) == var.wal_volume_size_gib
    error_message = "wal_volume_size_gib must be an integer from 4 to 16384."
  }
}

variable "wal_volume_iops" {
  type        = number
  description = "Provisioned IOPS of each WAL volume (gp3: 3000-16000, io2: 100-256000)."
  default     = 3000
  validation {
    condition     = var.wal_volume_iops >= 100 && var.wal_volume_iops <= 256000 && floor(var.wal_volume_iops) == var.wal_volume_iops
    error_message = "wal_volume_iops must be an integer from 100 to 256000."
  }
}

variable "wal_volume_throughput_mibps" {
  type        = number
  description = "Throughput of each gp3 WAL volume in MiB/s (125-1000); ignored for io2."
  default     = 250
  validation {
    condition     = var.wal_volume_throughput_mibps >= 125 && var.wal_volume_throughput_mibps <= 1000
    error_message = "wal_volume_throughput_mibps must be from 125 to 1000."
  }
}

variable "wal_capacity_gib" {
  type        = number
  description = "WAL ring size (wal.capacity.bytes) in GiB; at most wal_volume_size_gib. Uploads keep it far from full."
  default     = 2
  validation {
    condition     = var.wal_capacity_gib >= 1 && var.wal_capacity_gib <= 16384 && floor(var.wal_capacity_gib) == var.wal_capacity_gib
    error_message = "wal_capacity_gib must be an integer of at least 1."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the S3 bucket and the EBS volumes; null uses S3-managed keys (SSE-S3) and the account's default EBS key."
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "num_partitions" {
  type        = number
  description = "num.partitions: partitions of auto-created topics."
  default     = 6
  validation {
    condition     = var.num_partitions >= 1 && floor(var.num_partitions) == var.num_partitions
    error_message = "num_partitions must be a positive integer."
  }
}

variable "broker_session_timeout_ms" {
  type        = number
  description = "broker.session.timeout.ms: how long a broker's etcd lease outlives its last renewal. A broker silent this long is declared dead and its WAL volume failed over, so it is the floor of every failover's time; too low and a network blip or a long GC pause fails a healthy broker over."
  default     = 6000
  validation {
    condition     = var.broker_session_timeout_ms >= 1000 && var.broker_session_timeout_ms <= 60000 && floor(var.broker_session_timeout_ms) == var.broker_session_timeout_ms
    error_message = "broker_session_timeout_ms must be an integer from 1000 to 60000."
  }
}

variable "log_level" {
  type        = string
  description = "log.level of the brokers."
  default     = "info"
  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "fatal", "silent"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error, fatal, silent."
  }
}

variable "extra_properties" {
  type        = map(string)
  description = "More broker config keys (docs/configuration.md), written to ferry.properties after the module's own; a key the broker does not know stops it at start."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.extra_properties : can(regex("^[a-z0-9][a-z0-9.]*$", k)) && !can(regex("[\r\n]", v))])
    error_message = "extra_properties keys must be lower-case dotted config keys and values must be single lines."
  }
}

# ---- etcd

variable "etcd_instance_type" {
  type        = string
  description = "EC2 instance type of the three etcd nodes."
  default     = "t4g.medium"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.etcd_instance_type))
    error_message = "etcd_instance_type must be an EC2 instance type such as t4g.medium."
  }
}

variable "etcd_host_number" {
  type        = number
  description = "Host number of the etcd node in each subnet (its fixed private IP is cidrhost(subnet, n)); brokers use the following host numbers."
  default     = 10
  validation {
    condition     = var.etcd_host_number >= 4 && var.etcd_host_number <= 200
    error_message = "etcd_host_number must be from 4 to 200 (AWS reserves the first four addresses)."
  }
}

# ---- S3

variable "bucket_name" {
  type        = string
  description = "Name of the S3 bucket for Ferry's objects; null derives one from cluster_name, the account id and the region."
  default     = null
  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 characters of a-z, 0-9, '.', '-')."
  }
}

variable "s3_prefix" {
  type        = string
  description = "Key prefix of the cluster's objects inside the bucket (s3.prefix)."
  default     = ""
  validation {
    condition     = var.s3_prefix == "" || can(regex("^[A-Za-z0-9._/-]*/$", var.s3_prefix))
    error_message = "s3_prefix must be empty or end with '/' and use only A-Z a-z 0-9 . _ / -."
  }
}

variable "force_destroy_bucket" {
  type        = bool
  description = "Let terraform destroy delete a non-empty bucket (test clusters only: this deletes all data)."
  default     = false
}

variable "infrequent_access_after_days" {
  type        = number
  description = "Move objects to S3 Standard-IA after this many days; null keeps them in Standard. Worth it only when topics retain data well beyond 30 days and old data is rarely read."
  default     = null
  validation {
    condition     = var.infrequent_access_after_days == null || try(var.infrequent_access_after_days >= 30, false)
    error_message = "infrequent_access_after_days must be null or at least 30 (S3's minimum for Standard-IA)."
  }
}

variable "abort_incomplete_multipart_days" {
  type        = number
  description = "Abort multipart uploads left incomplete (a broker died mid-upload) after this many days."
  default     = 2
  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be at least 1."
  }
}

# ---- security (TLS, SASL, ACLs): docs/deploy-aws.md "Security"

variable "security_enabled" {
  type        = bool
  description = "Turn on TLS and SASL: an SSL listener on ssl_port (client certificates) and a SASL_SSL listener on sasl_ssl_port (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) that the brokers also use among themselves, and ACLs with the inter-broker and admin users as super users. The certificate and the passwords are read from Secrets Manager by the instance role at every broker start (tls_keystore_secret_arn, sasl_users_secret_arn); none of it is in user data or in the Terraform state."
  default     = false
}

variable "plaintext_listener_enabled" {
  type        = bool
  description = "Keep the PLAINTEXT listener on kafka_port. With security_enabled, false makes every client use TLS and authenticate; true keeps it for clients still migrating (they are User:ANONYMOUS, which the ACLs deny unless allowed)."
  default     = true
}

variable "ssl_port" {
  type        = number
  description = "Port of the SSL listener (security_enabled): TLS, with client certificates as ssl_client_auth says."
  default     = 9093
  validation {
    condition     = var.ssl_port >= 1024 && var.ssl_port <= 65535 && floor(var.ssl_port) == var.ssl_port
    error_message = "ssl_port must be an integer from 1024 to 65535."
  }
}

variable "sasl_ssl_port" {
  type        = number
  description = "Port of the SASL_SSL listener (security_enabled): TLS plus a SASL login; also the inter-broker listener."
  default     = 9094
  validation {
    condition     = var.sasl_ssl_port >= 1024 && var.sasl_ssl_port <= 65535 && floor(var.sasl_ssl_port) == var.sasl_ssl_port
    error_message = "sasl_ssl_port must be an integer from 1024 to 65535."
  }
}

variable "tls_keystore_secret_arn" {
  type        = string
  description = "Secrets Manager secret whose SecretString is the brokers' PEM keystore (ssl.keystore.location): the private key, unencrypted, then the certificate chain, server certificate first. Its subjectAltName must name every broker address (output tls_certificate_names). Required with security_enabled."
  default     = null
  validation {
    condition     = var.tls_keystore_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", var.tls_keystore_secret_arn))
    error_message = "tls_keystore_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "tls_truststore_secret_arn" {
  type        = string
  description = "Secret whose SecretString is the PEM CA certificates (ssl.truststore.location) that client certificates must chain to on the SSL listener; also what /etc/ferry/admin.properties trusts for the brokers' own certificate. Null: no client certificates (ssl_client_auth must be none) and public roots for the admin tools."
  default     = null
  validation {
    condition     = var.tls_truststore_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", var.tls_truststore_secret_arn))
    error_message = "tls_truststore_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "sasl_users_secret_arn" {
  type        = string
  description = "Secret whose SecretString is a JSON object of SASL users and passwords, e.g. {\"ferry-broker\": \"...\", \"admin\": \"...\"}: each becomes a PLAIN user of the SASL_SSL listener (in sasl.jaas.config, written to a root-only file at boot); inter_broker_user and admin_user must be among them. Names of A-Z a-z 0-9 . _ -; passwords of 16 or more characters without quotes, backslashes, $, ` or white space. Required with security_enabled."
  default     = null
  validation {
    condition     = var.sasl_users_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:", var.sasl_users_secret_arn))
    error_message = "sasl_users_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "secrets_kms_key_arn" {
  type        = string
  description = "KMS key the secrets are encrypted with, when it is not the account's aws/secretsmanager key: the brokers may decrypt with it through Secrets Manager only."
  default     = null
  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be a KMS key ARN."
  }
}

variable "inter_broker_user" {
  type        = string
  description = "The SASL user brokers log in to each other as (PLAIN over TLS on the SASL_SSL listener, sasl.mechanism.inter.broker.protocol); a super user."
  default     = "ferry-broker"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.inter_broker_user))
    error_message = "inter_broker_user must be 1-64 characters of A-Z a-z 0-9 . _ -."
  }
}

variable "admin_user" {
  type        = string
  description = "The SASL user of the operators' tools (ferry topics/acls ... --command-config /etc/ferry/admin.properties on a broker); a super user, who creates the applications' SCRAM users and ACLs."
  default     = "admin"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.admin_user))
    error_message = "admin_user must be 1-64 characters of A-Z a-z 0-9 . _ -."
  }
}

variable "ssl_client_auth" {
  type        = string
  description = "ssl.client.auth of the SSL listener: required (mutual TLS; the certificate subject is the principal), requested, or none. The SASL_SSL listener never asks for certificates."
  default     = "required"
  validation {
    condition     = contains(["required", "requested", "none"], var.ssl_client_auth)
    error_message = "ssl_client_auth must be required, requested or none."
  }
}

variable "acl_authorizer_enabled" {
  type        = bool
  description = "With security_enabled, turn ACLs on (authorizer.class.name): requests need an ACL allowing them, except from super.users (inter_broker_user, admin_user)."
  default     = true
}
