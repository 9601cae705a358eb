/**
 * Canonical cluster reference (DESIGN §4): used in logs, queue messages, the CLI and the inventory.
 *   aws-ecs:<account>:<region>:<cluster-name>
 *   aws-eks:<account>:<region>:<cluster-name>
 *   azure-aks:<subscription-id>:<resource-group>:<cluster-name>
 *   gcp-gke:<project-id>:<location>:<cluster-name>
 */
export const PLATFORMS = ['aws-ecs', 'aws-eks', 'azure-aks', 'gcp-gke'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface ClusterRef {
  platform: Platform;
  /** AWS account id, Azure subscription id or GCP project id. */
  scope: string;
  /** AWS region, Azure resource group or GCP location. */
  location: string;
  name: string;
}

export class InvalidClusterRefError extends Error {
  override name = 'InvalidClusterRefError';
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._()-]*$/;

export function formatClusterRef(ref: ClusterRef): string {
  return `${ref.platform}:${ref.scope}:${ref.location}:${ref.name}`;
}

export function parseClusterRef(text: string): ClusterRef {
  const parts = text.split(':');
  if (parts.length !== 4) {
    throw new InvalidClusterRefError(
      `cluster reference "${text}" must have 4 parts <platform>:<account|subscription|project>:<region|resource-group|location>:<name>`,
    );
  }
  const [platform, scope, location, name] = parts as [string, string, string, string];
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    throw new InvalidClusterRefError(`cluster reference "${text}": unknown platform "${platform}" (one of ${PLATFORMS.join(', ')})`);
  }
  for (const [label, value] of [['scope', scope], ['location', location], ['name', name]] as const) {
    if (!SEGMENT.test(value)) throw new InvalidClusterRefError(`cluster reference "${text}": invalid ${label} "${value}"`);
  }
  return { platform: platform as Platform, scope, location, name };
}
