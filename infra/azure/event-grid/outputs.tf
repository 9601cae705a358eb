output "event_subscription_ids" {
  description = "The event subscriptions delivering to the webhook."
  value       = concat([azurerm_eventgrid_system_topic_event_subscription.clusters.id], [for s in azurerm_eventgrid_system_topic_event_subscription.cluster_events : s.id])
}
