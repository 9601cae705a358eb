import { randomBytes } from 'node:crypto';

/**
 * The Google identity state the stand-ins share (what IAM would hold): workload identity pool
 * providers, service accounts and who may impersonate them, who may use which project's GKE, and the
 * access tokens STS and IAM Credentials handed out. Tokens are opaque (`ya29.` + random) and answered
 * from this store, as Google's token validation answers from its own.
 *
 * Members use IAM's principal identifiers
 * (https://cloud.google.com/iam/docs/principal-identifiers):
 *   principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/subject/<subject>
 *   principalSet://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/*
 *   serviceAccount:<email>
 */
export interface PoolProvider {
  /** projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> */
  name: string;
  /** OIDC issuer the provider trusts (here: the AWS account's outbound identity issuer URL). */
  issuer: string;
  /** Empty: the JWT audience must be the provider's full resource name, with or without https: (Google's default). */
  allowedAudiences: string[];
  disabled?: boolean;
}

export interface IssuedToken {
  principal: string;
  scopes: string[];
  expiresAt: number;
  kind: 'federated' | 'service-account';
}

export class GoogleIdentity {
  private readonly providers = new Map<string, PoolProvider>();
  private readonly impersonators = new Map<string, Set<string>>();
  private readonly projectMembers = new Map<string, Set<string>>();
  private readonly tokens = new Map<string, IssuedToken>();
  /** Simulated clock offset, so tests can let tokens expire without waiting. */
  private skewMs = 0;
  /**
   * Sandbox switch: access tokens live at most this long whatever the caller asked for, so a test can
   * watch a client renew its token before expiry without waiting an hour.
   */
  maxTokenLifetimeSeconds: number | undefined;

  now(): number {
    return Date.now() + this.skewMs;
  }

  advanceClock(ms: number): void {
    this.skewMs += ms;
  }

  addProvider(p: PoolProvider): void {
    this.providers.set(p.name, p);
  }

  provider(name: string): PoolProvider | undefined {
    return this.providers.get(name);
  }

  /** A service account; `impersonators` are members with roles/iam.workloadIdentityUser (or Token Creator) on it. */
  addServiceAccount(email: string, impersonators: string[] = []): void {
    this.impersonators.set(email, new Set(impersonators));
  }

  serviceAccountExists(email: string): boolean {
    return this.impersonators.has(email);
  }

  mayImpersonate(principal: string, email: string): boolean {
    const members = this.impersonators.get(email);
    return !!members && [...members].some((m) => memberMatches(m, principal));
  }

  /** roles/container.developer (enough for the GKE reads and the sensor's Kubernetes objects) on a project. */
  grantProject(project: string, member: string): void {
    let s = this.projectMembers.get(project);
    if (!s) this.projectMembers.set(project, (s = new Set()));
    s.add(member);
  }

  revokeProject(project: string, member: string): void {
    this.projectMembers.get(project)?.delete(member);
  }

  /** `projects` = the project's id and number (IAM answers for either). */
  mayUseProject(principal: string, projects: string[]): boolean {
    return projects.some((p) => [...(this.projectMembers.get(p) ?? [])].some((m) => memberMatches(m, principal)));
  }

  issue(t: Omit<IssuedToken, 'expiresAt'>, lifetimeSeconds: number): { token: string; expiresAt: number } {
    const token = `ya29.${t.kind === 'federated' ? 'd.' : ''}${randomBytes(48).toString('base64url')}`;
    const expiresAt = this.now() + Math.min(lifetimeSeconds, this.maxTokenLifetimeSeconds ?? Infinity) * 1000;
    this.tokens.set(token, { ...t, expiresAt });
    return { token, expiresAt };
  }

  /** The token's grant when it is known and unexpired. */
  verify(token: string | undefined): IssuedToken | undefined {
    if (!token) return undefined;
    const t = this.tokens.get(token);
    return t && t.expiresAt > this.now() ? t : undefined;
  }

  /** Tests: how many tokens of a kind were handed out. */
  issuedCount(kind: IssuedToken['kind']): number {
    return [...this.tokens.values()].filter((t) => t.kind === kind).length;
  }
}

export function poolOf(providerName: string): string {
  return providerName.replace(/\/providers\/[^/]+$/, '');
}

export function principalFor(providerName: string, subject: string): string {
  return `principal://iam.googleapis.com/${poolOf(providerName)}/subject/${subject}`;
}

export function principalSetFor(providerName: string): string {
  return `principalSet://iam.googleapis.com/${poolOf(providerName)}/*`;
}

function memberMatches(member: string, principal: string): boolean {
  if (member === principal) return true;
  if (member.startsWith('serviceAccount:')) return principal === member.slice('serviceAccount:'.length);
  // principalSet://…/workloadIdentityPools/<pool>/* = every identity of the pool
  if (member.startsWith('principalSet://') && member.endsWith('/*')) {
    const pool = member.slice('principalSet://'.length, -2);
    return principal.startsWith(`principal://${pool}/subject/`);
  }
  return false;
}
