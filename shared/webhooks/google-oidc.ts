import type { PubSubWebhookConfig } from './config';
import { verifyJwt, type AuthOutcome } from './jwt';

/**
 * The OIDC token of a Pub/Sub push (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions):
 * a Google-signed ID token of the subscription's service account. Checked: signature against Google's
 * JWKS (URL configurable), issuer, audience, exp and iat, then `email` is the configured service
 * account and `email_verified` is true.
 */
export async function verifyPushToken(token: string, cfg: PubSubWebhookConfig, clockToleranceSeconds: number): Promise<AuthOutcome> {
  const out = await verifyJwt(token, cfg.jwksUrl, {
    issuer: cfg.issuers,
    audience: [cfg.audience],
    clockTolerance: clockToleranceSeconds,
    // Google ID tokens live one hour and carry no nbf: iat is checked (not in the future, not too old)
    maxTokenAge: '2h',
    requiredClaims: ['exp', 'iat', 'email'],
  });
  if (!out.ok) return out;
  const c = out.claims as Record<string, unknown>;
  if (String(c.email).toLowerCase() !== cfg.serviceAccountEmail.toLowerCase()) return { ok: false, status: 403, reason: `service account ${String(c.email)} is not ${cfg.serviceAccountEmail}` };
  if (c.email_verified !== true) return { ok: false, status: 403, reason: 'email_verified is not true' };
  return out;
}
