# The failover drill for this cluster (`ferry drill`, docs/drill.md), as command lines to run from
# a host inside the virtual network with the ferry CLI and the Azure CLI signed in with rights to
# stop and start the broker VMs (not from a broker: the drill stops brokers). Two ways to break a
# broker:
#
#  - VM stop (output drill_command): `az vm stop --skip-shutdown` powers the victim's VM off at
#    once (brokers.tf names it <cluster_name>-broker-<node id>). The broker stays down until the
#    drill starts the VM again, so its etcd lease expires and the remount controller moves its ZRS
#    WAL disk to a live broker in any zone, which replays it into Blob storage: this exercises the
#    failover.
#  - process kill (output drill_command_process_kill): `systemctl kill --signal=SIG{signal}` over
#    SSH. systemd restarts the broker 2 s later, before its lease expires, so it recovers its own
#    WAL and no disk moves: this exercises WAL recovery (and, as pause-broker, zombie fencing).
#
# {id} {host} {signal} are the drill's placeholders (the victim's node id, advertised host, and
# KILL/STOP/CONT), substituted shell-quoted by the drill; the commands run with /bin/sh -c.
locals {
  # The victim's VM by resource id: pins subscription and resource group, whatever `az` defaults to.
  drill_vm = "--ids ${azurerm_resource_group.this.id}/providers/Microsoft.Compute/virtualMachines/${var.cluster_name}-broker-{id}"
  # Without the PLAINTEXT listener the drill connects to SASL_SSL as the admin user: copy
  # /etc/ferry/admin.properties from a broker (root only; it holds the admin password).
  drill_security = var.plaintext_listener_enabled ? "" : " --command-config admin.properties"
  drill_base     = "ferry drill --bootstrap ${local.bootstrap_servers}${local.drill_security} --scenario kill-broker --cycles 3 --etcd ${local.etcd_endpoints} --cluster ${var.cluster_name}"

  # --no-wait: t0 is when Azure accepted the power-off, not when it finished. The restart waits
  # until the VM is stopped (a start during the power-off is refused), then starts it.
  # Cloud timings: a disk move takes seconds, a VM needs a minute or more to stop and boot.
  drill_command_instance_stop = "${local.drill_base} --kill-cmd 'az vm stop ${local.drill_vm} --skip-shutdown --no-wait' --restart-cmd 'az vm wait ${local.drill_vm} --custom \"instanceView.statuses[?code=='\\''PowerState/stopped'\\'']\" && az vm start ${local.drill_vm}' --writable-timeout-ms 120000 --failover-timeout-ms 180000 --cycle-timeout-ms 600000 --command-timeout-ms 600000 --json drill.json --svg drill.svg"
  drill_command_process_kill  = "${local.drill_base} --kill-cmd 'ssh ${var.admin_username}@{host} sudo systemctl kill --signal=SIG{signal} ferry' --restart-cmd 'ssh ${var.admin_username}@{host} sudo systemctl start ferry' --failover-timeout-ms 15000 --json drill.json --svg drill.svg"
}
