import type { EntraAuthConfig } from './config';
import { verifyJwt, type AuthOutcome } from './jwt';

/**
 * The Entra token Event Grid attaches to each delivery to an Entra-protected webhook
 * (https://learn.microsoft.com/azure/event-grid/secure-webhook-delivery): an app-only access token of
 * Event Grid's application for the webhook's application. Checked: the signature against the tenant's
 * keys, the issuer of that tenant (v1 sts.windows.net or v2 authority), the audience (app id or ID URI),
 * exp/nbf, `tid`, the client application (appid / azp), and the app role Event Grid was assigned.
 * Entra signs every tenant's tokens with the same keys: a token of another tenant verifies, so the
 * issuer and `tid` are what bind it to ours.
 */
export async function verifyEntraToken(token: string, cfg: EntraAuthConfig, clockToleranceSeconds: number): Promise<AuthOutcome> {
  const tenant = cfg.tenantId.toLowerCase();
  const authority = cfg.authorityHost.replace(/\/+$/, '');
  const issuers = [`https://sts.windows.net/${tenant}/`, `${authority}/${tenant}/v2.0`];
  const out = await verifyJwt(token, cfg.jwksUrl ?? `${authority}/${tenant}/discovery/v2.0/keys`, {
    issuer: issuers,
    audience: cfg.audiences,
    clockTolerance: clockToleranceSeconds,
    maxTokenAge: '24h',
    requiredClaims: ['exp', 'tid'],
  });
  if (!out.ok) return out;
  const c = out.claims as Record<string, unknown>;
  if (String(c.tid).toLowerCase() !== tenant) return { ok: false, status: 401, reason: `token of tenant ${String(c.tid)}, not ${tenant}` };
  const client = String(c.appid ?? c.azp ?? '');
  if (!cfg.clientAppIds.map((id) => id.toLowerCase()).includes(client.toLowerCase())) return { ok: false, status: 403, reason: `client application ${client || '(none)'} is not allowed` };
  if (cfg.appRole !== false) {
    const roles = Array.isArray(c.roles) ? c.roles.map(String) : [];
    if (!roles.includes(cfg.appRole)) return { ok: false, status: 403, reason: `token lacks the app role ${cfg.appRole}` };
  }
  return out;
}
