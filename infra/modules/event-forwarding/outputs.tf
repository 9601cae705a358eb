output "rule_arns" {
  description = "Forwarding rule ARNs by region/pattern."
  value       = { for k, r in aws_cloudwatch_event_rule.forward : k => r.arn }
}

output "role_arn" {
  description = "The role EventBridge puts the forwarded events with."
  value       = aws_iam_role.forwarding.arn
}
