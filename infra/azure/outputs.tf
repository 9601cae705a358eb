output "client_id" {
  description = "targets.azure[].clientId (the application sensorfleet acts as)."
  value       = azuread_application.sensorfleet.client_id
}

output "tenant_id" {
  description = "targets.azure[].tenantId and webhooks.eventGrid.auth.tenantId."
  value       = data.azuread_client_config.current.tenant_id
}

output "webhook_audiences" {
  description = "webhooks.eventGrid.auth.audiences."
  value       = [var.webhook_identifier_uri, azuread_application.webhook.client_id]
}

output "event_subscription_ids" {
  description = "The Event Grid event subscriptions delivering to the webhook."
  value       = module.event_grid.event_subscription_ids
}
