import type { SensorfleetConfig } from '../config/schema';
import { parseClusterRef } from '../domain/cluster-ref';

/**
 * Whether a cluster an event names lies in a configured target (targets.aws account, targets.azure
 * subscription and resource groups, targets.gcp project). Events about anything else are dropped at
 * ingest with the reason, never queued: the worker could not reach such a cluster anyway, and an
 * event bus or webhook open to more accounts than configured must not make work.
 */
export type TargetCheck = { ok: true } | { ok: false; reason: string };

export function inConfiguredTargets(config: SensorfleetConfig, cluster: string): TargetCheck {
  const ref = parseClusterRef(cluster);
  switch (ref.platform) {
    case 'aws-ecs':
    case 'aws-eks':
      return acceptsAwsAccount(config, ref.scope);
    case 'azure-aks': {
      const target = config.targets.azure.find((t) => t.subscriptionId.toLowerCase() === ref.scope.toLowerCase());
      if (!target) return { ok: false, reason: `subscription ${ref.scope} is not a configured target (targets.azure)` };
      if (target.resourceGroups && !target.resourceGroups.some((rg) => rg.toLowerCase() === ref.location.toLowerCase())) {
        return { ok: false, reason: `resource group ${ref.location} is not one of the configured targets.azure[].resourceGroups of subscription ${ref.scope}` };
      }
      return { ok: true };
    }
    case 'gcp-gke': {
      if (config.targets.gcp.some((t) => t.projectId === ref.scope)) return { ok: true };
      return { ok: false, reason: /^\d+$/.test(ref.scope) ? `project number ${ref.scope} is not mapped to a configured target (targets.gcp[].projectNumber)` : `project ${ref.scope} is not a configured target (targets.gcp)` };
    }
  }
}

/**
 * AWS accounts: only the configured ones. With no targets.aws at all no AWS account is a target: the
 * ECS and EKS adapters refuse every account then, so queueing its events would only fill the DLQ.
 */
export function acceptsAwsAccount(config: SensorfleetConfig, account: string): TargetCheck {
  if (config.targets.aws.some((t) => t.accountId === account)) return { ok: true };
  return { ok: false, reason: `account ${account} is not a configured target (${config.targets.aws.length ? 'targets.aws' : 'no targets.aws configured'})` };
}
