/** Public option types of the sandbox Kubernetes API server (re-exported by index.ts). */
export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeSpec {
  name: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** cordoned */
  unschedulable?: boolean;
  /** host paths of runtime sockets that exist on the node; default containerd only:
   *  ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'] */
  hostSockets?: string[];
  /** default 2 cpu, 8Gi, 110 pods */
  allocatable?: { cpu: string; memory: string; pods?: string };
  /** default = name */
  hostname?: string;
}

export interface ClusterOptions {
  nodes: NodeSpec[];
  /** Decides whether a bearer token may call this cluster; return an identity string or null (401). */
  authenticate: (token: string) => Promise<string | null>;
  /** Pods of images in this set crash-loop instead of becoming Ready. */
  crashingImages?: Set<string>;
  /** Called when a pod becomes Ready / is deleted (the sandbox wires these to SensorEvents). */
  onPodReady?: (pod: any, node: NodeSpec) => void;
  onPodGone?: (pod: any, node: NodeSpec) => void;
}

export interface Faults {
  failNext?: { status: number; count: number; retryAfterSeconds?: number };
  latencyMs?: number;
  dropConnections?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  status: number;
}

export const DEFAULT_HOST_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'];
