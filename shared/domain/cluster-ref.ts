/**
 * Canonical cluster reference (DESIGN §4): used in logs, queue messages, the CLI and the inventory.
 *   aws-ecs:<account>:<region>:<cluster-name>
 *   aws-eks:<account>:<region>:<cluster-name>
 *   azure-aks:<subscription-id>:<resource-group>:<cluster-name>
 *   gcp-gke:<project-id>:<location>:<cluster-name>
 * Each part is checked against its platform's naming rules, so a typo is rejected with the rule it
 * breaks instead of becoming a cluster that "was not found".
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

interface Rule {
  test: RegExp;
  says: string;
}

const AWS_ACCOUNT: Rule = { test: /^\d{12}$/, says: 'a 12-digit AWS account id' };
// us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1
const AWS_REGION: Rule = { test: /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, says: 'an AWS region such as eu-west-1' };

/**
 * Per platform: scope, location, name. Sources: ECS CreateCluster clusterName (letters, digits,
 * hyphens, underscores, up to 255); EKS CreateCluster name (^[0-9A-Za-z][A-Za-z0-9\-_]*, up to 100);
 * Azure subscription ids are GUIDs, resource groups 1-90 of alphanumerics . _ - ( ) not ending in a
 * period, AKS names 1-63 alphanumerics, - and _, starting and ending alphanumeric; GCP project ids
 * 6-30 lowercase letters, digits and hyphens starting with a letter (GKE notifications name projects
 * by number), locations a region or zone, GKE names up to 40 lowercase letters, digits and hyphens
 * starting with a letter and not ending with a hyphen.
 */
const RULES: Record<Platform, [Rule, Rule, Rule]> = {
  'aws-ecs': [AWS_ACCOUNT, AWS_REGION, { test: /^[A-Za-z0-9_-]{1,255}$/, says: 'an ECS cluster name (letters, digits, - and _, up to 255)' }],
  'aws-eks': [AWS_ACCOUNT, AWS_REGION, { test: /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, says: 'an EKS cluster name (letters, digits, - and _, starting with a letter or digit, up to 100)' }],
  'azure-aks': [
    { test: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, says: 'an Azure subscription id (a GUID)' },
    { test: /^[A-Za-z0-9._()-]{0,89}[A-Za-z0-9_()-]$/, says: 'an Azure resource group name (1-90 of letters, digits, . _ - ( ), not ending in a period)' },
    { test: /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/, says: 'an AKS cluster name (1-63 letters, digits, - and _, starting and ending with a letter or digit)' },
  ],
  'gcp-gke': [
    { test: /^([a-z][a-z0-9-]{4,28}[a-z0-9]|\d{6,20})$/, says: 'a GCP project id (6-30 lowercase letters, digits and hyphens, starting with a letter) or project number' },
    { test: /^[a-z]+-[a-z]+\d+(-[a-z])?$/, says: 'a GCP region or zone such as europe-west1 or europe-west1-b' },
    { test: /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, says: 'a GKE cluster name (up to 40 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen)' },
  ],
};

const LABELS: Record<Platform, [string, string]> = {
  'aws-ecs': ['account', 'region'],
  'aws-eks': ['account', 'region'],
  'azure-aks': ['subscription', 'resource group'],
  'gcp-gke': ['project', 'location'],
};

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
  const p = platform as Platform;
  const [scopeLabel, locationLabel] = LABELS[p];
  const checks: [string, string, Rule][] = [
    [scopeLabel, scope, RULES[p][0]],
    [locationLabel, location, RULES[p][1]],
    ['name', name, RULES[p][2]],
  ];
  for (const [label, value, rule] of checks) {
    if (!rule.test.test(value)) throw new InvalidClusterRefError(`cluster reference "${text}": invalid ${label} "${value}": want ${rule.says}`);
  }
  return { platform: p, scope, location, name };
}

/** Where a cluster lives, in words: "AWS account 111122223333, region eu-west-1". */
export function describeScope(ref: ClusterRef): string {
  switch (ref.platform) {
    case 'aws-ecs':
    case 'aws-eks':
      return `AWS account ${ref.scope}, region ${ref.location}`;
    case 'azure-aks':
      return `Azure subscription ${ref.scope}, resource group ${ref.location}`;
    case 'gcp-gke':
      return `GCP project ${ref.scope}, location ${ref.location}`;
  }
}
