variable "regions" {
  description = "Regions of this account whose default event bus forwards sensorfleet's events (the regions with ECS or EKS clusters)."
  type        = list(string)
}

variable "target_event_bus_arn" {
  description = "ARN of the control plane's event bus (serverless stack output EventBusArn)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the rule names."
  type        = string
  default     = "sensorfleet-forward"
}

variable "role_name" {
  description = "Name of the role EventBridge uses to put the events on the control plane's bus."
  type        = string
  default     = "sensorfleet-event-forwarding"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
