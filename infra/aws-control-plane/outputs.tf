output "issuer_url" {
  description = "The account's outbound identity issuer (iss of GetWebIdentityToken JWTs): input aws_issuer_url of infra/azure and infra/gcp."
  value       = aws_iam_outbound_web_identity_federation.this.issuer_identifier
}

output "event_bus_arn" {
  description = "The control plane's bus: input control_plane_event_bus_arn of infra/aws-member-account."
  value       = local.bus_arn
}

output "web_identity_audiences_param" {
  description = "The serverless deploy parameter webIdentityAudiences (comma-separated, no spaces)."
  value       = join(",", var.web_identity_audiences)
}

output "bus_policy" {
  description = "The bus policy as applied."
  value       = data.aws_iam_policy_document.bus.json
}
