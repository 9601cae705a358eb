# Forwarding rules: on each region's default bus, one rule per pattern on-aws-event listens for
# (patterns.json is the same list as serverless.yml's on-aws-event patterns; a unit test keeps them
# equal), each targeting the control plane's bus. A role is given on every target: EventBridge needs
# one when the receiving bus admits the sender through its organization, and across regions.

locals {
  patterns = jsondecode(file("${path.module}/patterns.json"))
  rules = {
    for pair in setproduct(var.regions, keys(local.patterns)) : "${pair[0]}/${pair[1]}" => {
      region  = pair[0]
      pattern = pair[1]
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    # only this account's rules may use the role (confused deputy)
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "forwarding" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "put_events" {
  statement {
    actions   = ["events:PutEvents"]
    resources = [var.target_event_bus_arn]
  }
}

resource "aws_iam_role_policy" "put_events" {
  name   = "put-events-on-the-control-plane-bus"
  role   = aws_iam_role.forwarding.id
  policy = data.aws_iam_policy_document.put_events.json
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each       = local.rules
  region         = each.value.region
  name           = "${var.name_prefix}-${each.value.pattern}"
  description    = "sensorfleet: forward to the control plane's event bus"
  event_bus_name = "default"
  event_pattern  = jsonencode(local.patterns[each.value.pattern])
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each       = local.rules
  region         = each.value.region
  rule           = aws_cloudwatch_event_rule.forward[each.key].name
  event_bus_name = "default"
  target_id      = "sensorfleet-control-plane"
  arn            = var.target_event_bus_arn
  role_arn       = aws_iam_role.forwarding.arn
}
