# Event Grid for one subscription (the azurerm provider's): its system topic, with one event
# subscription delivering resource writes and deletes of AKS clusters, agent pools and VM scale sets
# to the webhook; and per listed AKS cluster, its own system topic for the AKS events. Delivery is one
# event per request (the webhook answers each), Entra token or secret header, Event Grid's retries.

data "azurerm_subscription" "current" {}

locals {
  entra = var.webhook_auth == "entra"
  secret_header = var.webhook_auth == "shared-secret" ? [{
    header_name = var.webhook_secret_header
    value       = var.webhook_secret
  }] : []
}

resource "azurerm_eventgrid_system_topic" "subscription" {
  name                   = "sensorfleet-${data.azurerm_subscription.current.subscription_id}"
  resource_group_name    = var.resource_group_name
  location               = "global"
  source_arm_resource_id = data.azurerm_subscription.current.id
  topic_type             = "Microsoft.Resources.Subscriptions"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "clusters" {
  name                  = "sensorfleet-clusters"
  system_topic          = azurerm_eventgrid_system_topic.subscription.name
  resource_group_name   = var.resource_group_name
  event_delivery_schema = "EventGridSchema"
  included_event_types  = ["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess"]

  # Microsoft.ContainerService resources (clusters, agent pools) and the VM scale sets of node resource groups
  advanced_filter {
    string_contains {
      key    = "subject"
      values = ["/providers/Microsoft.ContainerService/managedClusters/", "/providers/Microsoft.Compute/virtualMachineScaleSets/"]
    }
  }

  webhook_endpoint {
    url                               = var.webhook_url
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
    active_directory_tenant_id        = local.entra ? var.webhook_tenant_id : null
    active_directory_app_id_or_uri    = local.entra ? var.webhook_identifier_uri : null
  }

  dynamic "delivery_property" {
    for_each = local.secret_header
    content {
      header_name = delivery_property.value.header_name
      type        = "Static"
      value       = delivery_property.value.value
      secret      = true
    }
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}

resource "azurerm_eventgrid_system_topic" "cluster" {
  for_each               = var.aks_clusters
  name                   = "sensorfleet-${each.key}"
  resource_group_name    = var.resource_group_name
  location               = each.value.location
  source_arm_resource_id = each.value.id
  topic_type             = "Microsoft.ContainerService.ManagedClusters"
}

resource "azurerm_eventgrid_system_topic_event_subscription" "cluster_events" {
  for_each              = var.aks_clusters
  name                  = "sensorfleet-aks-events"
  system_topic          = azurerm_eventgrid_system_topic.cluster[each.key].name
  resource_group_name   = var.resource_group_name
  event_delivery_schema = "EventGridSchema"
  included_event_types = [
    "Microsoft.ContainerService.NodePoolRollingStarted",
    "Microsoft.ContainerService.NodePoolRollingSucceeded",
    "Microsoft.ContainerService.NodePoolRollingFailed",
    "Microsoft.ContainerService.NewKubernetesVersionAvailable",
    "Microsoft.ContainerService.ClusterSupportEnding",
    "Microsoft.ContainerService.ClusterSupportEnded",
  ]

  webhook_endpoint {
    url                               = var.webhook_url
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
    active_directory_tenant_id        = local.entra ? var.webhook_tenant_id : null
    active_directory_app_id_or_uri    = local.entra ? var.webhook_identifier_uri : null
  }

  dynamic "delivery_property" {
    for_each = local.secret_header
    content {
      header_name = delivery_property.value.header_name
      type        = "Static"
      value       = delivery_property.value.value
      secret      = true
    }
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}
