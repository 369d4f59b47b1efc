# TLS and SASL (security_enabled): the listeners each broker opens and advertises, the broker
# config that turns them on, the script that fetches the secrets, and the identity's read access
# to exactly those secrets. The secrets themselves (the keystore, the CA certificates, the SASL
# passwords) never pass through Terraform or custom data: templates/ferry-secrets.sh.tftpl reads
# them from Key Vault with the brokers' managed identity before every broker start, into files
# only the broker (TLS) or root (passwords, which systemd hands to the broker as
# FERRY_SASL_JAAS_CONFIG) can read.

locals {
  # Listener name -> port; names are also the security protocols (the default protocol map).
  listener_ports = merge(
    var.plaintext_listener_enabled ? { PLAINTEXT = var.kafka_port } : {},
    var.security_enabled ? { SSL = var.ssl_port, SASL_SSL = var.sasl_ssl_port } : {},
  )
  listeners = join(",", [for name, port in local.listener_ports : "${name}://0.0.0.0:${port}"])

  bootstrap_servers_plaintext = join(",", [for b in local.brokers : "${b.private_ip}:${var.kafka_port}"])
  bootstrap_servers_ssl       = join(",", [for b in local.brokers : "${b.private_ip}:${var.ssl_port}"])
  bootstrap_servers_sasl_ssl  = join(",", [for b in local.brokers : "${b.private_ip}:${var.sasl_ssl_port}"])

  tls_dir = "/etc/ferry/tls"

  # Keys of docs/configuration.md (Kafka's names). PLAIN over TLS between brokers: its users are
  # in sasl.jaas.config, so the brokers' own login does not depend on SCRAM credentials, which
  # live in the cluster's metadata and can only be created through a running broker.
  security_properties = var.security_enabled ? join("\n", concat(
    [
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
      "inter.broker.listener.name=SASL_SSL",
      "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
      "sasl.mechanism.inter.broker.protocol=PLAIN",
      "ssl.keystore.type=PEM",
      "ssl.keystore.location=${local.tls_dir}/keystore.pem",
      "listener.name.ssl.ssl.client.auth=${var.ssl_client_auth}",
      "super.users=User:${var.inter_broker_user};User:${var.admin_user}",
    ],
    var.tls_truststore_secret_name != null ? ["ssl.truststore.type=PEM", "ssl.truststore.location=${local.tls_dir}/truststore.pem"] : [],
    var.acl_authorizer_enabled ? ["authorizer.class.name=ferry"] : [],
  )) : "# TLS and SASL are off (security_enabled = false)."

  # /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>
  key_vault_name = var.key_vault_id != null ? element(split("/", var.key_vault_id), 8) : ""
  secret_names   = compact([var.tls_keystore_secret_name, var.tls_truststore_secret_name != null ? var.tls_truststore_secret_name : "", var.sasl_users_secret_name])

  secrets_script = templatefile("${path.module}/templates/ferry-secrets.sh.tftpl", {
    vault_name             = var.security_enabled ? local.key_vault_name : ""
    keystore_secret_name   = var.security_enabled ? var.tls_keystore_secret_name : ""
    truststore_secret_name = var.security_enabled && var.tls_truststore_secret_name != null ? var.tls_truststore_secret_name : ""
    users_secret_name      = var.security_enabled ? var.sasl_users_secret_name : ""
    azure_client_id        = azurerm_user_assigned_identity.broker.client_id
    inter_broker_user      = var.inter_broker_user
    admin_user             = var.admin_user
    sasl_ssl_port          = var.sasl_ssl_port
    tls_dir                = local.tls_dir
  })
}

# Read access to the cluster's secrets only, not to the rest of the vault (RBAC on each secret).
resource "azurerm_role_assignment" "broker_secrets" {
  count                = var.security_enabled ? length(local.secret_names) : 0
  scope                = "${var.key_vault_id}/secrets/${local.secret_names[count.index]}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.broker.principal_id
  principal_type       = "ServicePrincipal"
}

resource "terraform_data" "security_checks" {
  input = var.security_enabled

  lifecycle {
    precondition {
      condition     = !var.security_enabled || var.key_vault_id != null
      error_message = "security_enabled needs key_vault_id."
    }
    precondition {
      condition     = var.security_enabled || var.plaintext_listener_enabled
      error_message = "plaintext_listener_enabled = false needs security_enabled (brokers would have no listener)."
    }
    precondition {
      condition     = !var.security_enabled || var.ssl_client_auth == "none" || var.tls_truststore_secret_name != null
      error_message = "ssl_client_auth required or requested needs tls_truststore_secret_name (the CA client certificates chain to)."
    }
    precondition {
      condition     = length(distinct([var.kafka_port, var.ssl_port, var.sasl_ssl_port, var.metrics_port])) == 4
      error_message = "kafka_port, ssl_port, sasl_ssl_port and metrics_port must differ."
    }
    precondition {
      condition     = var.inter_broker_user != var.admin_user
      error_message = "inter_broker_user and admin_user must differ."
    }
  }
}
