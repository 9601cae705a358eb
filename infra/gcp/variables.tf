variable "host_project_id" {
  description = "Project that holds the workload identity pool, the service accounts and the Pub/Sub topics."
  type        = string
}

variable "host_project_number" {
  description = "That project's number (the Pub/Sub service agent is service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com)."
  type        = string
}

variable "target_project_ids" {
  description = "Projects whose GKE clusters sensorfleet manages (targets.gcp[].projectId)."
  type        = list(string)
}

variable "aws_issuer_url" {
  description = "The control plane account's outbound identity issuer (output issuer_url of infra/aws-control-plane)."
  type        = string
}

variable "function_role_arns" {
  description = "The functions' roles that may act as the sensorfleet service account (reconcile-worker, nightly, redeploy)."
  type        = list(string)
}

variable "webhook_url" {
  description = "The on-webhook function URL with its Pub/Sub path, e.g. https://<id>.lambda-url.<region>.on.aws/gcp/pubsub."
  type        = string
}

variable "push_audience" {
  description = "The OIDC token audience of the push subscriptions (webhooks.pubsub.audience); default the webhook URL."
  type        = string
  default     = null
}

variable "pool_id" {
  description = "Workload identity pool id."
  type        = string
  default     = "sensorfleet"
}

variable "provider_id" {
  description = "Workload identity pool provider id."
  type        = string
  default     = "aws-control-plane"
}
