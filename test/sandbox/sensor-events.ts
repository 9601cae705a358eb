import { EventEmitter } from 'node:events';

/**
 * What a running sensor container does in real life that the sandbox must play: when it starts
 * it registers with Qualys and checks in; when it stops it stops checking in. The Kubernetes
 * fake (pods) and the ECS scheduler simulator (tasks) emit these; the Qualys fake listens.
 */
export interface SensorInstance {
  platform: 'aws-ecs' | 'aws-eks' | 'azure-aks' | 'gcp-gke';
  /** Canonical cluster reference (DESIGN §4) of the cluster the sensor runs in. */
  cluster: string;
  /** Kubernetes node name or ECS container instance's EC2 instance id. */
  nodeName: string;
  /** Host name the sensor reports (node's hostname / EC2 private DNS name or instance id). */
  hostname: string;
  /** Image tag the container runs, e.g. 1.34.1-0. */
  version: string;
  /** Pod uid or task ARN: one running container. */
  containerId: string;
  /** Kubernetes only. */
  pod?: { name: string; namespace: string };
}

export interface SensorEventMap {
  started: [SensorInstance];
  stopped: [SensorInstance];
}

export class SensorEvents extends EventEmitter<SensorEventMap> {}

/** What a sensor pod that just became ready (or went away) reports, as the Qualys fake registers it. */
export function sensorOfPod(platform: SensorInstance['platform'], cluster: string, pod: any, node: { name: string; hostname?: string }): SensorInstance {
  const image: string = pod?.spec?.containers?.[0]?.image ?? '';
  const tagAt = image.lastIndexOf(':');
  return {
    platform,
    cluster,
    nodeName: node.name,
    hostname: node.hostname ?? node.name,
    version: tagAt > image.lastIndexOf('/') ? image.slice(tagAt + 1) : 'latest',
    containerId: String(pod?.metadata?.uid ?? pod?.metadata?.name),
    pod: { name: String(pod?.metadata?.name), namespace: String(pod?.metadata?.namespace) },
  };
}
