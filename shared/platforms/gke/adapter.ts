import type { GcpTarget } from './config';
import type { KubernetesCloud } from '../kubernetes/cloud-adapter';

/** Placeholder until the GKE cloud half lands (helper B). */
export function createGkeCloud(_options: { targets: GcpTarget[] }): KubernetesCloud {
  throw new Error('GKE adapter not implemented yet');
}
