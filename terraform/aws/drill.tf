# The failover drill for this cluster (`ferry drill`, docs/drill.md), as command lines to run from
# a host inside the VPC with the ferry CLI and AWS credentials that may describe, stop and start
# the broker instances (not from a broker: the drill stops brokers). Two ways to break a broker:
#
#  - instance stop (output drill_command): `aws ec2 stop-instances --force` on the victim's
#    instance, found by its tags. The broker stays down until the drill starts the instance again,
#    so its etcd lease expires and the remount controller moves its WAL volume to a live broker
#    of the same zone (EBS is zonal), which replays it into S3: this exercises the failover.
#  - process kill (output drill_command_process_kill): `systemctl kill --signal=SIG{signal}` over
#    SSH. systemd restarts the broker 2 s later, before its lease expires, so it recovers its own
#    WAL and no volume moves: this exercises WAL recovery (and, as pause-broker, zombie fencing).
#
# {id} {host} {signal} are the drill's placeholders (the victim's node id, advertised host, and
# KILL/STOP/CONT), substituted shell-quoted by the drill; the commands run with /bin/sh -c.
locals {
  drill_aws = "aws --region ${local.region} ec2"
  # Without the PLAINTEXT listener the drill connects to SASL_SSL as the admin user: copy
  # /etc/ferry/admin.properties from a broker (root only; it holds the admin password).
  drill_security = var.plaintext_listener_enabled ? "" : " --command-config admin.properties"
  # The victim's instance id, from the tags brokers.tf puts on every broker instance; the commands
  # fail (test -n) when no instance matches, so a wrong cluster or region fails the cycle loudly.
  drill_instance_of_id = "$(${local.drill_aws} describe-instances --filters Name=tag:ferry:cluster,Values=${var.cluster_name} Name=tag:ferry:role,Values=broker Name=tag:ferry:broker-id,Values={id} --query \"Reservations[].Instances[].InstanceId\" --output text)"
  drill_base           = "ferry drill --bootstrap ${local.bootstrap_servers}${local.drill_security} --scenario kill-broker --cycles 3 --etcd ${local.etcd_endpoints} --cluster ${var.cluster_name}"

  # A stopped broker's volume can move only to a live broker of its own zone. With 6+ brokers
  # every zone has two, so the drill may rotate over all brokers; with 4 or 5 it always stops
  # broker 1 (zone a also holds broker 4). With 3 or fewer no zone has a second broker: a stopped
  # broker's partitions would wait for it, so drill_command is the process-kill drill then.
  drill_victim = var.broker_count >= 6 ? "" : " --broker 1"

  # Cloud timings: EBS detach/attach take seconds, a stopped instance needs minutes to stop and boot.
  drill_command_instance_stop = "${local.drill_base}${local.drill_victim} --kill-cmd 'i=${local.drill_instance_of_id} && test -n \"$i\" && ${local.drill_aws} stop-instances --force --instance-ids $i' --restart-cmd 'i=${local.drill_instance_of_id} && test -n \"$i\" && ${local.drill_aws} wait instance-stopped --instance-ids $i && ${local.drill_aws} start-instances --instance-ids $i' --writable-timeout-ms 120000 --failover-timeout-ms 180000 --cycle-timeout-ms 600000 --command-timeout-ms 600000 --json drill.json --svg drill.svg"
  drill_command_process_kill  = "${local.drill_base} --kill-cmd 'ssh ubuntu@{host} sudo systemctl kill --signal=SIG{signal} ferry' --restart-cmd 'ssh ubuntu@{host} sudo systemctl start ferry' --failover-timeout-ms 15000 --json drill.json --svg drill.svg"
}
