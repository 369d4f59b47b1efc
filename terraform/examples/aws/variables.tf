variable "region" {
  type        = string
  description = "AWS region to deploy into."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the Ferry cluster."
  default     = "ferry-example"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-32 characters of a-z, 0-9 and '-'."
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

variable "client_cidr_blocks" {
  type        = list(string)
  description = "CIDRs of Kafka clients; empty allows the VPC only."
  default     = []
  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "client_cidr_blocks must be IPv4 CIDRs."
  }
}
