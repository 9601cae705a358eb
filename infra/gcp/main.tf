# Google Cloud for sensorfleet:
#  - a workload identity pool with an OIDC provider trusting the AWS account's outbound issuer, only
#    for the function roles (attribute condition on the JWT's sub), and a service account they may
#    impersonate with the least roles to read clusters and apply the sensor;
#  - a log sink per target project for the container.googleapis.com cluster and node pool calls, a
#    topic and a push subscription with an OIDC token to the webhook (dead letters after 10 attempts);
#  - the topic for GKE cluster notifications (clusters opt in with notification_config) and its push.

locals {
  push_audience = coalesce(var.push_audience, var.webhook_url)
  # the methods on-webhook acts on (shared/events/gcp-audit-log.ts), v1 and v1beta1
  sink_filter = join(" AND ", [
    "logName:\"cloudaudit.googleapis.com%2Factivity\"",
    "protoPayload.serviceName=\"container.googleapis.com\"",
    "protoPayload.methodName=~\"^google\\.container\\.v1(beta1)?\\.ClusterManager\\.(CreateCluster|DeleteCluster|UpdateCluster|CreateNodePool|SetNodePoolSize|SetNodePoolAutoscaling|UpdateNodePool)$\"",
  ])
  pubsub_agent = "serviceAccount:service-${var.host_project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_iam_workload_identity_pool" "sensorfleet" {
  project                   = var.host_project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "sensorfleet"
  description               = "The sensorfleet control plane's AWS function roles"
}

resource "google_iam_workload_identity_pool_provider" "aws" {
  project                            = var.host_project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.sensorfleet.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "AWS outbound identity"
  attribute_mapping = {
    "google.subject"        = "assertion.sub"
    "attribute.aws_account" = "assertion['https://sts.amazonaws.com/'].aws_account"
  }
  # only the function roles' JWTs (sub = the role ARN), nothing else the account's issuer signs
  attribute_condition = "assertion.sub in [${join(", ", [for a in var.function_role_arns : "'${a}'"])}]"
  oidc {
    issuer_uri = var.aws_issuer_url
  }
}

resource "google_service_account" "sensorfleet" {
  project      = var.host_project_id
  account_id   = "sensorfleet"
  display_name = "sensorfleet control plane"
}

resource "google_service_account_iam_member" "workload_identity" {
  for_each           = toset(var.function_role_arns)
  service_account_id = google_service_account.sensorfleet.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${google_iam_workload_identity_pool.sensorfleet.name}/subject/${each.value}"
}

# Reading clusters and node pools, and the Kubernetes objects of the sensor (GKE authorises Kubernetes
# API calls with IAM first). Creating the sensor's ClusterRole/Role and bindings needs the permissions
# they grant, or bind/escalate on them.
resource "google_project_iam_custom_role" "sensor_applier" {
  for_each    = toset(var.target_project_ids)
  project     = each.value
  role_id     = "sensorfleetSensorApplier"
  title       = "sensorfleet sensor applier"
  description = "Read GKE clusters and apply the Qualys sensor's Kubernetes objects"
  permissions = [
    "container.clusters.get",
    "container.clusters.list",
    "container.operations.get",
    "container.namespaces.get",
    "container.namespaces.create",
    "container.namespaces.update",
    "container.nodes.list",
    "container.pods.get",
    "container.pods.list",
    "container.pods.exec",
    "container.events.list",
    "container.secrets.get",
    "container.secrets.create",
    "container.secrets.update",
    "container.serviceAccounts.get",
    "container.serviceAccounts.create",
    "container.serviceAccounts.update",
    "container.resourceQuotas.get",
    "container.resourceQuotas.create",
    "container.resourceQuotas.update",
    "container.limitRanges.get",
    "container.limitRanges.create",
    "container.limitRanges.update",
    "container.daemonSets.get",
    "container.daemonSets.create",
    "container.daemonSets.update",
    "container.jobs.get",
    "container.jobs.create",
    "container.podDisruptionBudgets.get",
    "container.podDisruptionBudgets.create",
    "container.podDisruptionBudgets.update",
    "container.networkPolicies.get",
    "container.networkPolicies.create",
    "container.networkPolicies.update",
    "container.roles.get",
    "container.roles.create",
    "container.roles.update",
    "container.roles.bind",
    "container.roleBindings.get",
    "container.roleBindings.create",
    "container.roleBindings.update",
    "container.clusterRoles.get",
    "container.clusterRoles.create",
    "container.clusterRoles.update",
    "container.clusterRoles.bind",
    "container.clusterRoleBindings.get",
    "container.clusterRoleBindings.create",
    "container.clusterRoleBindings.update",
  ]
}

resource "google_project_iam_member" "sensor_applier" {
  for_each = toset(var.target_project_ids)
  project  = each.value
  role     = google_project_iam_custom_role.sensor_applier[each.value].name
  member   = "serviceAccount:${google_service_account.sensorfleet.email}"
}

# --- events: audit log sink -> topic -> push subscription -> on-webhook --------------------------------

resource "google_pubsub_topic" "audit" {
  project = var.host_project_id
  name    = "sensorfleet-gke-audit"
}

resource "google_pubsub_topic" "notifications" {
  project = var.host_project_id
  name    = "sensorfleet-gke-notifications"
}

resource "google_pubsub_topic" "dead_letter" {
  project = var.host_project_id
  name    = "sensorfleet-webhook-dead-letter"
}

resource "google_logging_project_sink" "gke" {
  for_each               = toset(var.target_project_ids)
  project                = each.value
  name                   = "sensorfleet-gke"
  destination            = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter                 = local.sink_filter
  unique_writer_identity = true
}

resource "google_pubsub_topic_iam_member" "sink_writer" {
  for_each = google_logging_project_sink.gke
  project  = var.host_project_id
  topic    = google_pubsub_topic.audit.name
  role     = "roles/pubsub.publisher"
  member   = each.value.writer_identity
}

resource "google_service_account" "push" {
  project      = var.host_project_id
  account_id   = "sensorfleet-push"
  display_name = "sensorfleet Pub/Sub push (webhooks.pubsub.serviceAccountEmail)"
}

# Pub/Sub's service agent makes the push OIDC tokens for the push service account
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_subscription" "push" {
  for_each = {
    audit         = google_pubsub_topic.audit.id
    notifications = google_pubsub_topic.notifications.id
  }
  project = var.host_project_id
  name    = "sensorfleet-gke-${each.key}-push"
  topic   = each.value
  # on-webhook's timeout is 20 s
  ack_deadline_seconds = 20
  push_config {
    push_endpoint = var.webhook_url
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.push_audience
    }
  }
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }
  expiration_policy {
    ttl = ""
  }
}

# the service agent forwards undeliverable messages to the dead-letter topic
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.host_project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = google_pubsub_subscription.push
  project      = var.host_project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
