output "role_arn" {
  description = "targets.aws[].roleArn for this account."
  value       = aws_iam_role.sensorfleet.arn
}

output "execution_role_arn" {
  description = "The ECS task execution role of the sensor's task definitions."
  value       = aws_iam_role.execution.arn
}

output "activation_secret_arns" {
  description = "The activation secret in each ECS region."
  value       = { for r, s in aws_secretsmanager_secret.activation : r => s.arn }
}

output "forwarding_rule_arns" {
  description = "The forwarding rules by region/pattern."
  value       = module.forwarding.rule_arns
}
