variable "subscription_ids" {
  description = "Subscriptions whose AKS clusters sensorfleet manages (targets.azure[].subscriptionId)."
  type        = list(string)
}

variable "aws_issuer_url" {
  description = "The control plane account's outbound identity issuer (output issuer_url of infra/aws-control-plane)."
  type        = string
}

variable "function_role_arns" {
  description = "The functions' roles that act as the Entra application (reconcile-worker, nightly, redeploy, on-webhook): one federated credential each."
  type        = list(string)
}

variable "federation_audience" {
  description = "Audience of the AWS JWTs (targets.azure[].auth.audience)."
  type        = string
  default     = "api://AzureADTokenExchange"
}

variable "webhook_url" {
  description = "The on-webhook function URL with its Event Grid path, e.g. https://<id>.lambda-url.<region>.on.aws/azure/event-grid."
  type        = string
}

variable "webhook_auth" {
  description = "How Event Grid authenticates to the webhook: entra (a token for the webhook's Entra application) or shared-secret (webhook_secret in a secret delivery-property header)."
  type        = string
  default     = "entra"
  validation {
    condition     = contains(["entra", "shared-secret"], var.webhook_auth)
    error_message = "webhook_auth is entra or shared-secret."
  }
}

variable "webhook_secret" {
  description = "With webhook_auth = shared-secret: the secret (the same as in Secrets Manager under webhooks.eventGrid.auth.secretId)."
  type        = string
  default     = null
  sensitive   = true
}

variable "webhook_secret_header" {
  description = "The header the secret is sent in (webhooks.eventGrid.auth.header)."
  type        = string
  default     = "x-sensorfleet-webhook-secret"
}

variable "webhook_identifier_uri" {
  description = "Application ID URI of the webhook's Entra application (webhooks.eventGrid.auth.audiences)."
  type        = string
  default     = "api://sensorfleet-webhook"
}

variable "event_grid_resource_group" {
  description = "Resource group (in the azurerm provider's subscription) that holds the Event Grid system topics."
  type        = string
}

variable "aks_clusters" {
  description = "AKS clusters (in the provider's subscription) whose system events (node pool rolling, versions, support) are delivered too: name => { id, location }."
  type = map(object({
    id       = string
    location = string
  }))
  default = {}
}
