# The control plane account: outbound identity federation (the functions' roles get JWTs from STS
# GetWebIdentityToken for Entra and Google), those roles' permission to ask for them only for the
# audiences in use, the policy of the control plane's event bus, and the forwarding of this account's
# own regions to it.

locals {
  bus_arn = data.aws_cloudwatch_event_bus.control_plane.arn
}

data "aws_cloudwatch_event_bus" "control_plane" {
  name = var.event_bus_name
}

# Enables IAM outbound identity federation for the account and gives it its issuer URL
# (issuer_identifier), which the Entra federated credential and the GCP workload identity provider trust.
resource "aws_iam_outbound_web_identity_federation" "this" {}

# GetWebIdentityToken has no resource-level permission (Resource "*"); the audiences and the token
# lifetime are what can be limited. serverless.yml grants the same with its webIdentityAudiences
# parameter: pass output web_identity_audiences_param there.
data "aws_iam_policy_document" "web_identity" {
  statement {
    sid       = "WebIdentityTokensForTheConfiguredAudiencesOnly"
    actions   = ["sts:GetWebIdentityToken"]
    resources = ["*"]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "sts:IdentityTokenAudience"
      values   = var.web_identity_audiences
    }
    condition {
      test     = "NumericLessThanEquals"
      variable = "sts:DurationSeconds"
      values   = ["900"]
    }
  }
}

resource "aws_iam_role_policy" "web_identity" {
  for_each = toset(var.function_role_names)
  name     = "sensorfleet-web-identity-token"
  role     = each.value
  policy   = data.aws_iam_policy_document.web_identity.json
}

# Who may put events on the bus: the configured member accounts, and/or every account of the organization.
data "aws_iam_policy_document" "bus" {
  dynamic "statement" {
    for_each = length(var.member_account_ids) > 0 ? [1] : []
    content {
      sid       = "SensorfleetMemberAccounts"
      actions   = ["events:PutEvents"]
      resources = [local.bus_arn]
      principals {
        type        = "AWS"
        identifiers = [for id in var.member_account_ids : "arn:aws:iam::${id}:root"]
      }
    }
  }
  dynamic "statement" {
    for_each = var.organization_id == null ? [] : [var.organization_id]
    content {
      sid       = "SensorfleetOrganization"
      actions   = ["events:PutEvents"]
      resources = [local.bus_arn]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "control_plane" {
  event_bus_name = var.event_bus_name
  policy         = data.aws_iam_policy_document.bus.json

  lifecycle {
    precondition {
      condition     = length(var.member_account_ids) > 0 || var.organization_id != null
      error_message = "Give member_account_ids or organization_id: a bus policy admitting nobody forwards nothing."
    }
  }
}

module "forward_own_regions" {
  source               = "../modules/event-forwarding"
  count                = length(var.forward_regions) > 0 ? 1 : 0
  regions              = var.forward_regions
  target_event_bus_arn = local.bus_arn
  tags                 = var.tags
}
