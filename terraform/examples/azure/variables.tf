variable "subscription_id" {
  type        = string
  description = "Azure subscription to deploy into."
  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "location" {
  type        = string
  description = "Azure region with availability zones and ZRS disks."
  default     = "westeurope"
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be an Azure region name such as westeurope."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the Ferry cluster."
  default     = "ferry-example"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-22 characters of a-z, 0-9 and '-'."
  }
}

variable "ferry_repository" {
  type        = string
  description = "Git URL (https) of the Ferry source to build on the brokers."
  validation {
    condition     = can(regex("^https://", var.ferry_repository))
    error_message = "ferry_repository must be an https:// git URL."
  }
}

variable "ferry_version" {
  type        = string
  description = "Git ref of ferry_repository to deploy."
  default     = "main"
  validation {
    condition     = length(var.ferry_version) > 0
    error_message = "ferry_version must not be empty."
  }
}

variable "admin_ssh_public_key" {
  type        = string
  description = "SSH public key of the VMs' admin user."
  validation {
    condition     = can(regex("^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp[0-9]+) ", var.admin_ssh_public_key))
    error_message = "admin_ssh_public_key must be an OpenSSH public key."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDRs of Kafka clients; empty allows the virtual network only."
  default     = []
  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "client_cidr_blocks must be IPv4 CIDRs."
  }
}
