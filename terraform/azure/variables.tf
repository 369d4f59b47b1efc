# ---- cluster

variable "cluster_name" {
  type        = string
  description = "Name of the Ferry cluster (cluster.name): prefixes resource names and tags every resource (ferry-cluster)."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-22 characters of a-z, 0-9 and '-', starting and ending with a letter or digit."
  }
}

variable "location" {
  type        = string
  description = "Azure region with availability zones and ZRS managed disks (e.g. westeurope, eastus2, northeurope)."
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be an Azure region name such as westeurope."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group to create for the cluster; null derives \"<cluster_name>-ferry\". The brokers' disk-move rights are granted per disk and per VM, not on the group."
  default     = null
  validation {
    condition     = var.resource_group_name == null || can(regex("^[A-Za-z0-9._()-]{1,89}[A-Za-z0-9_()-]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 characters of letters, digits, '.', '_', '-', '(' or ')', not ending in '.'."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource. The module adds ferry-cluster and ferry-role itself."
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
  description = "Node.js version installed on brokers from nodejs.org (checksum-verified); 22 or later (the Azure SDK needs Node 22)."
  default     = "22.23.3"
  validation {
    condition     = can(regex("^(2[2-9]|[3-9][0-9])\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must be a full version (x.y.z) of Node 22 or later."
  }
}

# ---- network

variable "vnet_cidr" {
  type        = string
  description = "Address space of the virtual network."
  default     = "10.43.0.0/16"
  validation {
    condition     = can(cidrhost(var.vnet_cidr, 0)) && tonumber(split("/", var.vnet_cidr)[1]) <= 24
    error_message = "vnet_cidr must be an IPv4 CIDR of /24 or larger."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "Subnet of brokers and etcd inside vnet_cidr (Azure subnets span all zones); null takes the first /24."
  default     = null
  validation {
    condition     = var.subnet_cidr == null || can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be an IPv4 CIDR."
  }
}

variable "zones" {
  type        = list(string)
  description = "The three availability zones to spread brokers and etcd over."
  default     = ["1", "2", "3"]
  validation {
    condition     = length(var.zones) == 3 && length(distinct(var.zones)) == 3 && alltrue([for z in var.zones : contains(["1", "2", "3"], z)])
    error_message = "zones must list the three zones \"1\", \"2\", \"3\" (in any order)."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to reach the brokers' Kafka port. Empty means the virtual network."
  default     = []
  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "client_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "metrics_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to scrape /metrics and call /healthz and /readyz. Empty means the virtual network."
  default     = []
  validation {
    condition     = alltrue([for c in var.metrics_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "metrics_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "ssh_cidr_blocks" {
  type        = list(string)
  description = "CIDRs allowed to SSH to the VMs; empty opens no SSH port."
  default     = []
  validation {
    condition     = alltrue([for c in var.ssh_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "ssh_cidr_blocks must be IPv4 CIDRs and not 0.0.0.0/0."
  }
}

variable "admin_username" {
  type        = string
  description = "Admin user of the VMs (SSH key login only)."
  default     = "ferryadmin"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.admin_username)) && !contains(["admin", "root", "administrator"], var.admin_username)
    error_message = "admin_username must be a lower-case Linux user name other than admin, root or administrator."
  }
}

variable "admin_ssh_public_key" {
  type        = string
  description = "SSH public key of the admin user (Azure requires one for Linux VMs)."
  validation {
    condition     = can(regex("^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp[0-9]+) ", var.admin_ssh_public_key))
    error_message = "admin_ssh_public_key must be an OpenSSH public key (ssh-rsa, ssh-ed25519 or ecdsa)."
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
  description = "Number of brokers; broker i (1-based) goes to zone zones[(i-1) mod 3]."
  default     = 3
  validation {
    condition     = var.broker_count >= 1 && var.broker_count <= 60 && floor(var.broker_count) == var.broker_count
    error_message = "broker_count must be an integer from 1 to 60."
  }
}

variable "broker_vm_size" {
  type        = string
  description = "VM size of the brokers (must support premium storage for Premium_ZRS disks, e.g. Standard_D4s_v5)."
  default     = "Standard_D4s_v5"
  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.broker_vm_size))
    error_message = "broker_vm_size must be an Azure VM size such as Standard_D4s_v5."
  }
}

variable "etcd_vm_size" {
  type        = string
  description = "VM size of the three etcd nodes."
  default     = "Standard_D2s_v5"
  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.etcd_vm_size))
    error_message = "etcd_vm_size must be an Azure VM size such as Standard_D2s_v5."
  }
}

variable "wal_disk_sku" {
  type        = string
  description = "SKU of the brokers' WAL disks: a zone-redundant (ZRS) SKU, so a disk can be attached to a VM in any zone."
  default     = "Premium_ZRS"
  validation {
    condition     = contains(["Premium_ZRS", "StandardSSD_ZRS"], var.wal_disk_sku)
    error_message = "wal_disk_sku must be Premium_ZRS or StandardSSD_ZRS: Ferry's cross-zone failover needs ZRS."
  }
}

variable "wal_disk_size_gib" {
  type        = number
  description = "Size of each WAL disk in GiB (the Premium tier, and so IOPS and throughput, follow the size)."
  default     = 64
  validation {
    condition     = var.wal_disk_size_gib >= 4 && var.wal_disk_size_gib <= 32767 && floor(var.wal_disk_size_gib) == var.wal_disk_size_gib
    error_message = "wal_disk_size_gib must be an integer from 4 to 32767."
  }
}

variable "wal_device_path" {
  type        = string
  description = "Device path of the WAL disk inside the VM (LUN 0 of the data disks, named by Azure's udev rules)."
  default     = "/dev/disk/azure/scsi1/lun0"
  validation {
    condition     = can(regex("^/dev/", var.wal_device_path))
    error_message = "wal_device_path must be a /dev path."
  }
}

variable "wal_capacity_gib" {
  type        = number
  description = "WAL ring size (wal.capacity.bytes) in GiB; at most wal_disk_size_gib."
  default     = 2
  validation {
    condition     = var.wal_capacity_gib >= 1 && floor(var.wal_capacity_gib) == var.wal_capacity_gib
    error_message = "wal_capacity_gib must be an integer of at least 1."
  }
}

variable "broker_session_timeout_ms" {
  type        = number
  description = "broker.session.timeout.ms: how long a broker's etcd lease outlives its last renewal. A broker silent this long is declared dead and its WAL disk failed over, so it is the floor of every failover's time; too low and a network blip or a long GC pause fails a healthy broker over."
  default     = 6000
  validation {
    condition     = var.broker_session_timeout_ms >= 1000 && var.broker_session_timeout_ms <= 60000 && floor(var.broker_session_timeout_ms) == var.broker_session_timeout_ms
    error_message = "broker_session_timeout_ms must be an integer from 1000 to 60000."
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

variable "etcd_host_number" {
  type        = number
  description = "Host number of the first etcd node in the subnet (fixed private IPs cidrhost(subnet, n..n+2)); brokers follow at n+3."
  default     = 10
  validation {
    condition     = var.etcd_host_number >= 4 && var.etcd_host_number <= 150
    error_message = "etcd_host_number must be from 4 to 150 (Azure reserves the first four addresses)."
  }
}

# ---- objects

variable "storage_account_name" {
  type        = string
  description = "Name of the storage account for Ferry's objects (globally unique); null derives one from cluster_name and a random suffix."
  default     = null
  validation {
    condition     = var.storage_account_name == null || can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 lower-case letters and digits."
  }
}

variable "storage_replication" {
  type        = string
  description = "Replication of the objects' storage account; ZRS keeps objects readable through a zone loss."
  default     = "ZRS"
  validation {
    condition     = contains(["ZRS", "GZRS", "RAGZRS"], var.storage_replication)
    error_message = "storage_replication must be ZRS, GZRS or RAGZRS (zone-redundant)."
  }
}

variable "container_name" {
  type        = string
  description = "Blob container for the objects (azure.blob.container)."
  default     = "ferry"
  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.container_name))
    error_message = "container_name must be 3-63 characters of a-z, 0-9 and single hyphens."
  }
}

variable "cool_tier_after_days" {
  type        = number
  description = "Move blobs to the Cool tier after this many days since their last modification; null keeps them Hot. Only worth it for long retention with rarely read old data."
  default     = null
  validation {
    condition     = var.cool_tier_after_days == null || try(var.cool_tier_after_days >= 30, false)
    error_message = "cool_tier_after_days must be null or at least 30."
  }
}

# ---- security (TLS, SASL, ACLs): docs/deploy-azure.md "Security"

variable "security_enabled" {
  type        = bool
  description = "Turn on TLS and SASL: an SSL listener on ssl_port (client certificates) and a SASL_SSL listener on sasl_ssl_port (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) that the brokers also use among themselves, and ACLs with the inter-broker and admin users as super users. The certificate and the passwords are read from Key Vault (key_vault_id) with the brokers' managed identity at every broker start; none of it is in custom data or in the Terraform state."
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

variable "key_vault_id" {
  type        = string
  description = "Resource id of the Key Vault (RBAC authorization) holding the TLS and SASL secrets; the brokers' identity gets Key Vault Secrets User on those secrets only. Required with security_enabled."
  default     = null
  validation {
    condition     = var.key_vault_id == null || can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[A-Za-z0-9-]{3,24}$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource id (/subscriptions/.../providers/Microsoft.KeyVault/vaults/<name>)."
  }
}

variable "tls_keystore_secret_name" {
  type        = string
  description = "Key Vault secret whose value is the brokers' PEM keystore (ssl.keystore.location): the private key, unencrypted, then the certificate chain, server certificate first; its subjectAltName must name every broker address (output tls_certificate_names)."
  default     = "ferry-tls-keystore"
  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,127}$", var.tls_keystore_secret_name))
    error_message = "tls_keystore_secret_name must be a Key Vault secret name (1-127 of A-Z a-z 0-9 -)."
  }
}

variable "tls_truststore_secret_name" {
  type        = string
  description = "Key Vault secret whose value is the PEM CA certificates (ssl.truststore.location) client certificates must chain to on the SSL listener; also what /etc/ferry/admin.properties trusts for the brokers' own certificate. Null: no client certificates (ssl_client_auth must be none)."
  default     = null
  validation {
    condition     = var.tls_truststore_secret_name == null || can(regex("^[A-Za-z0-9-]{1,127}$", var.tls_truststore_secret_name))
    error_message = "tls_truststore_secret_name must be null or a Key Vault secret name (1-127 of A-Z a-z 0-9 -)."
  }
}

variable "sasl_users_secret_name" {
  type        = string
  description = "Key Vault secret whose value is a JSON object of SASL users and passwords, e.g. {\"ferry-broker\": \"...\", \"admin\": \"...\"}: each becomes a PLAIN user of the SASL_SSL listener (in sasl.jaas.config, written to a root-only file at boot); inter_broker_user and admin_user must be among them. Names of A-Z a-z 0-9 . _ -; passwords of 16 or more characters without quotes, backslashes, $, ` or white space."
  default     = "ferry-sasl-users"
  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,127}$", var.sasl_users_secret_name))
    error_message = "sasl_users_secret_name must be a Key Vault secret name (1-127 of A-Z a-z 0-9 -)."
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
