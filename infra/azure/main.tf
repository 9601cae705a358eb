# Azure for sensorfleet:
#  - the Entra application sensorfleet acts as, with a federated credential per function role (issuer
#    = the AWS account's outbound issuer, subject = the role ARN): no secret is stored anywhere;
#  - the least roles on each subscription: read clusters and agent pools, list user credentials, read
#    resource groups (a VM scale set write is mapped to its cluster through the node resource group's
#    tags), and, for clusters with Azure RBAC for Kubernetes, the data actions that apply the sensor;
#  - the webhook's Entra application (Event Grid gets tokens for it) and Event Grid delivery
#    (./event-grid) for the provider's subscription.

data "azuread_client_config" "current" {}

resource "azuread_application" "sensorfleet" {
  display_name = "sensorfleet"
}

resource "azuread_service_principal" "sensorfleet" {
  client_id = azuread_application.sensorfleet.client_id
}

resource "azuread_application_federated_identity_credential" "aws" {
  for_each       = toset(var.function_role_arns)
  application_id = azuread_application.sensorfleet.id
  display_name   = "aws-${replace(element(split("/", each.value), length(split("/", each.value)) - 1), "/[^A-Za-z0-9-]/", "-")}"
  description    = "sensorfleet function role ${each.value}"
  audiences      = [var.federation_audience]
  issuer         = var.aws_issuer_url
  subject        = each.value
}

locals {
  scopes = [for s in var.subscription_ids : "/subscriptions/${s}"]
}

# What sensorfleet reads through ARM, and nothing else ("Azure Kubernetes Service Cluster User Role"
# lacks agentPools/read; Reader would be every */read).
resource "azurerm_role_definition" "cluster_reader" {
  name              = "sensorfleet cluster reader"
  scope             = local.scopes[0]
  assignable_scopes = local.scopes
  description       = "Read AKS clusters and agent pools, list cluster user credentials, read resource groups (node resource group tags)"
  permissions {
    actions = [
      "Microsoft.ContainerService/managedClusters/read",
      "Microsoft.ContainerService/managedClusters/agentPools/read",
      "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
      "Microsoft.Resources/subscriptions/resourceGroups/read",
    ]
  }
}

# Kubernetes objects of the sensor, for clusters authorised with Azure RBAC for Kubernetes (AKS-managed
# Entra ID with enableAzureRBAC). Creating the ClusterRole/Role and their bindings needs the permissions
# they grant (or bind/escalate), hence pods/exec and jobs. Clusters with Kubernetes RBAC need a
# ClusterRoleBinding for the application instead.
resource "azurerm_role_definition" "sensor_applier" {
  name              = "sensorfleet sensor applier"
  scope             = local.scopes[0]
  assignable_scopes = local.scopes
  description       = "Apply the Qualys sensor's Kubernetes objects on AKS clusters with Azure RBAC"
  permissions {
    data_actions = [
      "Microsoft.ContainerService/managedClusters/namespaces/read",
      "Microsoft.ContainerService/managedClusters/namespaces/write",
      "Microsoft.ContainerService/managedClusters/nodes/read",
      "Microsoft.ContainerService/managedClusters/pods/read",
      "Microsoft.ContainerService/managedClusters/pods/exec/action",
      "Microsoft.ContainerService/managedClusters/events/read",
      "Microsoft.ContainerService/managedClusters/secrets/read",
      "Microsoft.ContainerService/managedClusters/secrets/write",
      "Microsoft.ContainerService/managedClusters/serviceaccounts/read",
      "Microsoft.ContainerService/managedClusters/serviceaccounts/write",
      "Microsoft.ContainerService/managedClusters/resourcequotas/read",
      "Microsoft.ContainerService/managedClusters/resourcequotas/write",
      "Microsoft.ContainerService/managedClusters/limitranges/read",
      "Microsoft.ContainerService/managedClusters/limitranges/write",
      "Microsoft.ContainerService/managedClusters/apps/daemonsets/read",
      "Microsoft.ContainerService/managedClusters/apps/daemonsets/write",
      "Microsoft.ContainerService/managedClusters/batch/jobs/read",
      "Microsoft.ContainerService/managedClusters/batch/jobs/write",
      "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/read",
      "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/write",
      "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/read",
      "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/write",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/read",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/roles/write",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/rolebindings/read",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/rolebindings/write",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/read",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/write",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterrolebindings/read",
      "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterrolebindings/write",
    ]
  }
}

resource "azurerm_role_assignment" "cluster_reader" {
  for_each           = toset(local.scopes)
  scope              = each.value
  role_definition_id = azurerm_role_definition.cluster_reader.role_definition_resource_id
  principal_id       = azuread_service_principal.sensorfleet.object_id
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_assignment" "sensor_applier" {
  for_each           = toset(local.scopes)
  scope              = each.value
  role_definition_id = azurerm_role_definition.sensor_applier.role_definition_resource_id
  principal_id       = azuread_service_principal.sensorfleet.object_id
  principal_type     = "ServicePrincipal"
}

# The webhook's application: Event Grid asks Entra for a token for it; the app role is what only Event
# Grid's service principal (and the subscription's writer, Event Grid's check since 2021) is assigned.
resource "random_uuid" "webhook_role" {}

resource "azuread_application" "webhook" {
  display_name    = "sensorfleet-webhook"
  identifier_uris = [var.webhook_identifier_uri]
  app_role {
    allowed_member_types = ["Application"]
    description          = "Azure Event Grid may deliver events to the sensorfleet webhook"
    display_name         = "AzureEventGridSecureWebhookSubscriber"
    enabled              = true
    id                   = random_uuid.webhook_role.result
    value                = "AzureEventGridSecureWebhookSubscriber"
  }
}

resource "azuread_service_principal" "webhook" {
  client_id                    = azuread_application.webhook.client_id
  app_role_assignment_required = true
}

# Microsoft.EventGrid's first-party application
resource "azuread_service_principal" "event_grid" {
  client_id    = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
  use_existing = true
}

resource "azuread_app_role_assignment" "event_grid" {
  app_role_id         = random_uuid.webhook_role.result
  principal_object_id = azuread_service_principal.event_grid.object_id
  resource_object_id  = azuread_service_principal.webhook.object_id
}

resource "azuread_app_role_assignment" "subscription_writer" {
  app_role_id         = random_uuid.webhook_role.result
  principal_object_id = data.azuread_client_config.current.object_id
  resource_object_id  = azuread_service_principal.webhook.object_id
}

module "event_grid" {
  source                 = "./event-grid"
  resource_group_name    = var.event_grid_resource_group
  webhook_url            = var.webhook_url
  webhook_auth           = var.webhook_auth
  webhook_secret         = var.webhook_secret
  webhook_secret_header  = var.webhook_secret_header
  webhook_tenant_id      = data.azuread_client_config.current.tenant_id
  webhook_identifier_uri = var.webhook_identifier_uri
  aks_clusters           = var.aks_clusters
  depends_on             = [azuread_app_role_assignment.event_grid, azuread_app_role_assignment.subscription_writer]
}
