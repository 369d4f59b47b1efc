# The S3 bucket holding Ferry's objects (DESIGN §4): encrypted, never public, owner-enforced,
# TLS-only, with lifecycle rules for aborted multipart uploads and an optional IA transition.
# Retention of topic data is Ferry's job (it deletes objects); the bucket keeps no versions.

resource "aws_s3_bucket" "objects" {
  bucket        = local.bucket_name
  force_destroy = var.force_destroy_bucket
  tags          = merge(local.common_tags, { "ferry:role" = "objects" })
}

resource "aws_s3_bucket_ownership_controls" "objects" {
  bucket = aws_s3_bucket.objects.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "objects" {
  bucket                  = aws_s3_bucket.objects.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "objects" {
  bucket = aws_s3_bucket.objects.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "objects" {
  bucket = aws_s3_bucket.objects.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = var.s3_prefix
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "transition-to-infrequent-access"
    status = var.infrequent_access_after_days == null ? "Disabled" : "Enabled"
    filter {
      prefix = var.s3_prefix
    }
    transition {
      days          = var.infrequent_access_after_days == null ? 30 : var.infrequent_access_after_days
      storage_class = "STANDARD_IA"
    }
  }
}

resource "aws_s3_bucket_policy" "objects" {
  bucket = aws_s3_bucket.objects.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.objects]
}
