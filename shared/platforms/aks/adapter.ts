import type { AzureTarget } from './config';
import type { KubernetesCloud } from '../kubernetes/cloud-adapter';

/** Placeholder until the AKS cloud half lands (helper A). */
export function createAksCloud(_options: { targets: AzureTarget[] }): KubernetesCloud {
  throw new Error('AKS adapter not implemented yet');
}
