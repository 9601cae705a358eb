variable "resource_group_name" {
  description = "Resource group (in the azurerm provider's subscription) holding the system topics."
  type        = string
}

variable "webhook_url" {
  description = "The on-webhook function URL with its Event Grid path."
  type        = string
}

variable "webhook_auth" {
  description = "entra or shared-secret."
  type        = string
}

variable "webhook_secret" {
  description = "The shared secret (webhook_auth = shared-secret)."
  type        = string
  default     = null
  sensitive   = true
}

variable "webhook_secret_header" {
  description = "Header the shared secret is sent in."
  type        = string
  default     = "x-sensorfleet-webhook-secret"
}

variable "webhook_tenant_id" {
  description = "Tenant of the webhook's Entra application."
  type        = string
}

variable "webhook_identifier_uri" {
  description = "Application ID URI of the webhook's Entra application."
  type        = string
}

variable "aks_clusters" {
  description = "AKS clusters whose system events are delivered too: name => { id, location }."
  type = map(object({
    id       = string
    location = string
  }))
  default = {}
}
