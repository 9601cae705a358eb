variable "event_bus_name" {
  description = "The control plane's event bus (serverless stack output EventBusName), on which on-aws-event's rules listen."
  type        = string
}

variable "member_account_ids" {
  description = "AWS accounts whose forwarded events the bus admits (the targets.aws accounts). Give these, or organization_id, or both."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for id in var.member_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "member_account_ids are 12-digit AWS account ids."
  }
}

variable "organization_id" {
  description = "An AWS Organizations id (o-...): every account of the organization may put events on the bus."
  type        = string
  default     = null
}

variable "function_role_names" {
  description = "The functions' roles that exchange GetWebIdentityToken JWTs at Entra and Google (serverless stack outputs ReconcileWorkerRoleArn, NightlyRoleArn, RedeployRoleArn, OnWebhookRoleArn: the name after role/)."
  type        = list(string)
  default     = []
}

variable "web_identity_audiences" {
  description = "The only audiences the roles may ask GetWebIdentityToken for: Entra's federated-credential audience and each GCP workload identity provider's (the provider's full resource name)."
  type        = list(string)
  default     = ["api://AzureADTokenExchange"]
}

variable "forward_regions" {
  description = "Other regions of the control plane's own account with clusters: their default buses forward to the control plane's bus like a member account's. Leave out the stack's own region: serverless.yml forwards it (OwnRegionForward* rules)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
