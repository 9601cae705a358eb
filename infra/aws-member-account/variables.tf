variable "control_plane_role_arns" {
  description = "The control plane functions' roles that may assume the sensorfleet role here (serverless stack outputs OnAwsEventRoleArn, ReconcileWorkerRoleArn, NightlyRoleArn, RedeployRoleArn)."
  type        = list(string)
  validation {
    condition     = length(var.control_plane_role_arns) > 0 && alltrue([for a in var.control_plane_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "control_plane_role_arns are IAM role ARNs of the control plane account."
  }
}

variable "external_id" {
  description = "The external id the functions present (targets.aws[].externalId)."
  type        = string
  sensitive   = true
}

variable "role_name" {
  description = "The role sensorfleet assumes here (serverless parameter targetRoleName; targets.aws[].roleArn names it)."
  type        = string
  default     = "sensorfleet-target"
}

variable "execution_role_name" {
  description = "The ECS task execution role the sensor's task definitions name (config sensor.ecs.executionRoleName)."
  type        = string
  default     = "sensorfleet-qualys-sensor-execution"
}

variable "activation_secret_name" {
  description = "Secrets Manager secret holding {activationId, customerId} (config credentials.secretsManagerSecretId)."
  type        = string
  default     = "sensorfleet/qualys-activation"
}

variable "ecs_regions" {
  description = "Regions with ECS clusters: each gets the activation secret (ECS reads it in the cluster's region)."
  type        = list(string)
  default     = []
}

variable "activation" {
  description = "The Qualys activation and customer ids written to the secrets (write-only: kept out of the state). Null: create the secrets empty and put the value in yourself."
  type = object({
    activation_id = string
    customer_id   = string
  })
  default   = null
  sensitive = true
}

variable "activation_version" {
  description = "Bump to write a changed activation value (write-only arguments are sent only when their version changes)."
  type        = number
  default     = 1
}

variable "forward_regions" {
  description = "Regions with ECS or EKS clusters: their default buses forward sensorfleet's events to the control plane."
  type        = list(string)
}

variable "control_plane_event_bus_arn" {
  description = "The control plane's bus (output event_bus_arn of infra/aws-control-plane)."
  type        = string
}

variable "eks_clusters" {
  description = "EKS clusters that exist now and get an access entry for the sensorfleet role (clusters created later need one too: see the README)."
  type = list(object({
    region = string
    name   = string
  }))
  default = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
