output "workload_identity_provider" {
  description = "targets.gcp[].auth.workloadIdentityProvider (projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)."
  value       = google_iam_workload_identity_pool_provider.aws.name
}

output "web_identity_audience" {
  description = "The AWS JWT audience GCP expects (the provider's full resource name): add it to webIdentityAudiences."
  value       = "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.aws.name}"
}

output "service_account_email" {
  description = "targets.gcp[].auth.serviceAccountEmail."
  value       = google_service_account.sensorfleet.email
}

output "push_service_account_email" {
  description = "webhooks.pubsub.serviceAccountEmail."
  value       = google_service_account.push.email
}

output "push_audience" {
  description = "webhooks.pubsub.audience."
  value       = local.push_audience
}

output "notification_topic" {
  description = "The topic GKE clusters name in notification_config.pubsub.topic."
  value       = google_pubsub_topic.notifications.id
}
