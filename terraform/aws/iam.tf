# Least privilege for the brokers' instance profile:
#  - S3: object read/write/delete and multipart on this cluster's prefix of this bucket only;
#    listing of the bucket restricted to that prefix;
#  - EC2: AttachVolume and DetachVolume only on volumes and instances tagged with this cluster
#    (the remount controller moves a dead broker's WAL volume to a live broker);
#    DescribeVolumes supports no resource-level permissions or tag conditions, so it is limited to
#    the cluster's region instead (it reveals metadata only).
#  - KMS: only when kms_key_arn is set, only that key, only through S3 or EC2.
#  - Secrets Manager (security_enabled): GetSecretValue on the TLS and SASL secrets named by
#    tls_keystore_secret_arn, tls_truststore_secret_arn and sasl_users_secret_arn only; with
#    secrets_kms_key_arn, kms:Decrypt of that key through Secrets Manager only.
# etcd nodes get no instance profile at all.

data "aws_iam_policy_document" "broker_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "broker" {
  statement {
    sid = "ObjectsReadWrite"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${local.bucket_arn}/${var.s3_prefix}*"]
  }

  statement {
    sid       = "ObjectsList"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [local.bucket_arn]
    # With a prefix, listing is limited to it (without one, the whole bucket is the cluster's).
    dynamic "condition" {
      for_each = var.s3_prefix == "" ? [] : [var.s3_prefix]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${condition.value}*"]
      }
    }
  }

  statement {
    sid     = "WalVolumeMove"
    actions = ["ec2:AttachVolume", "ec2:DetachVolume"]
    resources = [
      "arn:${data.aws_partition.current.partition}:ec2:${local.region}:${data.aws_caller_identity.current.account_id}:volume/*",
      "arn:${data.aws_partition.current.partition}:ec2:${local.region}:${data.aws_caller_identity.current.account_id}:instance/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/ferry:cluster"
      values   = [var.cluster_name]
    }
  }

  statement {
    sid       = "WalVolumeDescribe"
    actions   = ["ec2:DescribeVolumes"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  dynamic "statement" {
    for_each = var.security_enabled ? [local.secret_arns] : []
    content {
      sid       = "SecuritySecretsRead"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = var.security_enabled && var.secrets_kms_key_arn != null ? [var.secrets_kms_key_arn] : []
    content {
      sid       = "KmsForSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "KmsForObjectsAndVolumes"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com", "ec2.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "broker" {
  name_prefix        = "${var.cluster_name}-broker-"
  description        = "Ferry brokers of cluster ${var.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.broker_assume.json
  tags               = merge(local.common_tags, { "ferry:role" = "broker" })
}

resource "aws_iam_role_policy" "broker" {
  name   = "ferry-broker"
  role   = aws_iam_role.broker.id
  policy = data.aws_iam_policy_document.broker.json
}

resource "aws_iam_instance_profile" "broker" {
  name_prefix = "${var.cluster_name}-broker-"
  role        = aws_iam_role.broker.name
  tags        = merge(local.common_tags, { "ferry:role" = "broker" })
}
