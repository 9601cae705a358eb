# A member account: the role sensorfleet assumes (only from the control plane functions' roles, with the
# external id), the ECS task execution role that may read the activation secret, the activation secret
# in each region with ECS clusters, the forwarding of cluster events to the control plane, and an EKS
# access entry for the sensorfleet role on each listed EKS cluster (and the right to create that same entry
# on EKS clusters created later).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  # the secret's ARN ends in a random 6-character suffix
  activation_secret_arns = [for r in var.ecs_regions : "arn:${local.partition}:secretsmanager:${r}:${local.account}:secret:${var.activation_secret_name}-??????"]
  eks_clusters           = { for c in var.eks_clusters : "${c.region}/${c.name}" => c }
  # the policy sensorfleet may associate when it creates the role's entry itself: the one associated below (which says why)
  access_policy_arn = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.control_plane_role_arns
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role" "sensorfleet" {
  name                 = var.role_name
  description          = "Assumed by the sensorfleet control plane to keep the Qualys sensor on this account's ECS and EKS clusters"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

# Exactly what the functions call here through this role (the same actions serverless.yml grants them in
# their own account; test/unit/infra-modules.test.ts compares the two).
data "aws_iam_policy_document" "sensorfleet" {
  statement {
    sid       = "EcsClusters"
    actions   = ["ecs:DescribeClusters", "ecs:ListContainerInstances"]
    resources = ["arn:${local.partition}:ecs:*:${local.account}:cluster/*"]
  }
  statement {
    sid       = "EcsContainerInstances"
    actions   = ["ecs:DescribeContainerInstances", "ecs:ListTasks"]
    resources = ["arn:${local.partition}:ecs:*:${local.account}:container-instance/*"]
  }
  statement {
    sid       = "SensorService"
    actions   = ["ecs:CreateService", "ecs:UpdateService", "ecs:DescribeServices"]
    resources = ["arn:${local.partition}:ecs:*:${local.account}:service/*/qualys-container-sensor"]
  }
  statement {
    sid       = "EcsTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:${local.partition}:ecs:*:${local.account}:task/*"]
  }
  statement {
    sid     = "TagOnCreateOnly"
    actions = ["ecs:TagResource"]
    resources = [
      "arn:${local.partition}:ecs:*:${local.account}:service/*/qualys-container-sensor",
      "arn:${local.partition}:ecs:*:${local.account}:task-definition/qualys-container-sensor:*",
    ]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["CreateService", "RegisterTaskDefinition"]
    }
  }
  # task definitions, cluster listing, Auto Scaling groups and EC2 instances support no resource-level permission
  statement {
    sid       = "NoResourceLevelPermission"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:ListClusters", "eks:ListClusters", "ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"]
    resources = ["*"]
  }
  statement {
    sid       = "EksClusters"
    actions   = ["eks:DescribeCluster"]
    resources = ["arn:${local.partition}:eks:*:${local.account}:cluster/*"]
  }
  # An EKS cluster created after this apply refuses the role: sensorfleet gives the role (and no other
  # principal) its access entry there, with the access policy below at cluster scope and no other
  # (shared/platforms/eks/access-entry.ts; targets.aws[].eksAccessEntries: never turns it off).
  statement {
    sid       = "OwnEksAccessEntry"
    actions   = ["eks:CreateAccessEntry"]
    resources = ["arn:${local.partition}:eks:*:${local.account}:cluster/*"]
    condition {
      test     = "StringEquals"
      variable = "eks:principalArn"
      values   = [aws_iam_role.sensorfleet.arn]
    }
  }
  statement {
    sid       = "OwnEksAccessPolicy"
    actions   = ["eks:AssociateAccessPolicy"]
    resources = ["arn:${local.partition}:eks:*:${local.account}:access-entry/*"]
    condition {
      test     = "StringEquals"
      variable = "eks:principalArn"
      values   = [aws_iam_role.sensorfleet.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "eks:policyArn"
      values   = [local.access_policy_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "eks:accessScope"
      values   = ["cluster"]
    }
  }
  statement {
    sid       = "PassTheExecutionRoleToEcsOnly"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  dynamic "statement" {
    for_each = length(var.ecs_regions) > 0 ? [1] : []
    content {
      sid       = "ActivationSecret"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = local.activation_secret_arns
    }
  }
}

resource "aws_iam_role_policy" "sensorfleet" {
  name   = "sensorfleet"
  role   = aws_iam_role.sensorfleet.id
  policy = data.aws_iam_policy_document.sensorfleet.json
}

# The sensor's ECS tasks: pull the image, write their logs, read the activation secret (task definition `secrets`).
data "aws_iam_policy_document" "execution_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = var.execution_role_name
  assume_role_policy = data.aws_iam_policy_document.execution_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secret" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = length(local.activation_secret_arns) > 0 ? local.activation_secret_arns : ["arn:${local.partition}:secretsmanager:*:${local.account}:secret:${var.activation_secret_name}-??????"]
  }
}

resource "aws_iam_role_policy" "execution_secret" {
  name   = "read-the-activation-secret"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secret.json
}

resource "aws_secretsmanager_secret" "activation" {
  for_each    = toset(var.ecs_regions)
  region      = each.value
  name        = var.activation_secret_name
  description = "Qualys Container Security activation: JSON {activationId, customerId}"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "activation" {
  for_each                 = var.activation == null ? toset([]) : toset(var.ecs_regions)
  region                   = each.value
  secret_id                = aws_secretsmanager_secret.activation[each.value].id
  secret_string_wo         = jsonencode({ activationId = var.activation.activation_id, customerId = var.activation.customer_id })
  secret_string_wo_version = var.activation_version
}

module "forwarding" {
  source               = "../modules/event-forwarding"
  regions              = var.forward_regions
  target_event_bus_arn = var.control_plane_event_bus_arn
  tags                 = var.tags
}

# EKS: an access entry for the sensorfleet role (the identity EKS sees when the functions act through it)
# on each cluster that exists now; sensorfleet creates the same entry on clusters created later.
resource "aws_eks_access_entry" "sensorfleet" {
  for_each      = local.eks_clusters
  region        = each.value.region
  cluster_name  = each.value.name
  principal_arn = aws_iam_role.sensorfleet.arn
  type          = "STANDARD"
  tags          = var.tags
}

# Why AmazonEKSClusterAdminPolicy, the broadest access policy: it is the least one that lets sensorfleet
# apply the sensor. The sensor's object set has cluster-scoped objects (its Namespace, a ClusterRole and
# ClusterRoleBinding, as the vendor chart), a ResourceQuota and LimitRange, and coverage reads every
# Node. AmazonEKSAdminPolicy (Kubernetes' `admin` role), AmazonEKSEditPolicy and AmazonEKSViewPolicy grant
# none of the cluster-scoped writes, not even at cluster scope, and Kubernetes only lets a principal
# create a (Cluster)Role or binding granting what it holds itself. A tighter Kubernetes-group entry with
# a ClusterRole of exactly those verbs must first be installed in each cluster, which a cluster created
# later does not have: the one thing automatic enrollment exists for.
resource "aws_eks_access_policy_association" "sensorfleet" {
  for_each      = local.eks_clusters
  region        = each.value.region
  cluster_name  = each.value.name
  principal_arn = aws_iam_role.sensorfleet.arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  access_scope {
    type = "cluster"
  }
  depends_on = [aws_eks_access_entry.sensorfleet]
}
