import * as z from 'zod';
import type { DiscoveryScope } from '../types';

/**
 * `targets.gcp[]`: Google Cloud projects (GKE). Owned by the GKE platform; loaded by the config schema
 * without the Google SDK (this file imports zod only).
 */
// https://cloud.google.com/resource-manager/docs/creating-managing-projects: 6-30 chars, lowercase, digits, hyphens
const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id (6-30 lowercase letters, digits, hyphens; not the project number)');
const projectNumber = z.string().regex(/^\d{6,20}$/, 'a GCP project number (digits)');
// a WorkloadAllowlist name, used as a Kubernetes label value (63 chars, alphanumerics, '-', '_', '.')
const allowlistName = z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a WorkloadAllowlist name (a Kubernetes label value)');
const location = z.string().regex(/^(-|[a-z]+-[a-z]+\d+(-[a-z])?)$/, 'a GCP region or zone such as europe-west1 or europe-west1-b, or "-" for all');

export const gcpAuthSchema = z.lazy(() => z.discriminatedUnion('method', [
  /**
   * No secret: the function role's JWT from AWS STS GetWebIdentityToken is exchanged at Google STS
   * through a workload identity pool provider (OIDC provider trusting the AWS account's issuer), then
   * optionally for a service account's token (impersonation).
   */
  z.strictObject({
    method: z.literal('aws-federation'),
    /** projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> */
    workloadIdentityProvider: z
      .string()
      .regex(/^projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]+\/providers\/[a-z0-9-]+$/, 'projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>'),
    /** Audience of the AWS JWT; default: the provider's full resource name (what GCP expects without allowed audiences). */
    audience: z.string().min(1).optional(),
    /** Service account to impersonate; omitted when the pool's principal is granted access directly. */
    serviceAccountEmail: z.string().email().optional(),
  }),
  /** A credential configuration (external_account or service_account JSON) kept in Secrets Manager. */
  z.strictObject({ method: z.literal('credential-file'), secretId: z.string().min(1), secretRegion: z.string().optional() }),
]));
export type GcpAuth = z.infer<typeof gcpAuthSchema>;

export const gcpEndpointsSchema = z.lazy(() => z
  .strictObject({
    container: z.string().url().default('https://container.googleapis.com'),
    sts: z.string().url().default('https://sts.googleapis.com'),
    iamCredentials: z.string().url().default('https://iamcredentials.googleapis.com'),
  })
  .default({ container: 'https://container.googleapis.com', sts: 'https://sts.googleapis.com', iamCredentials: 'https://iamcredentials.googleapis.com' }));

/** Built on first use (z.lazy): a configuration without Google targets never builds it (a CLI run pays for every schema it builds). */
export const gcpTargetSchema = z.lazy(() => z.strictObject({
  projectId,
  /** Where known: GKE notifications name the project by number; this maps it back to the id. */
  projectNumber: projectNumber.optional(),
  locations: z.array(location).min(1).default(['-']),
  auth: gcpAuthSchema,
  endpoints: gcpEndpointsSchema,
  /** Connect through the cluster's DNS-based control plane endpoint instead of its IP endpoint. */
  useDnsEndpoint: z.boolean().default(false),
  /**
   * The Autopilot allowlist (a WorkloadAllowlist installed by an AllowlistSynchronizer) that admits the
   * sensor DaemonSet on this project's Autopilot clusters, by name: the pods then carry the label
   * `cloud.google.com/matching-allowlist: <name>`. `false` (default): Autopilot clusters are skipped with
   * the reason. https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads
   */
  autopilotAllowlist: z
    .union([z.literal(false), z.strictObject({ name: allowlistName })], {
      error: 'false, or { name: <WorkloadAllowlist name> } of the allowlist installed on the Autopilot clusters',
    })
    .default(false),
}));
export type GcpTarget = z.infer<typeof gcpTargetSchema>;

/** One discovery scope per project and location ("-" lists every location in one call). */
export function gcpScopes(targets: GcpTarget[]): DiscoveryScope[] {
  return targets.flatMap((t) => t.locations.map((loc) => ({ platform: 'gcp-gke' as const, scope: t.projectId, location: loc })));
}

/** The provider's full resource name with the `//iam.googleapis.com/` prefix: STS's `audience`, and the JWT audience GCP accepts when the provider sets no allowed audiences. */
export function providerAudience(workloadIdentityProvider: string): string {
  return `//iam.googleapis.com/${workloadIdentityProvider}`;
}

/**
 * Project number -> project id from the configured pairs, for event normalisation (GKE cluster
 * notifications name the project by number): `normalizeRecords(payload, { gcpProjectIds })`.
 */
export function gcpProjectIdsByNumber(targets: GcpTarget[]): Record<string, string> {
  return Object.fromEntries(targets.flatMap((t) => (t.projectNumber ? [[t.projectNumber, t.projectId] as const] : [])));
}
