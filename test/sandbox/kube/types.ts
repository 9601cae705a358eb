import type { RandomFaults } from '../random-faults';
/** Public option types of the sandbox Kubernetes API server (re-exported by index.ts). */
import type { X509Certificate } from 'node:crypto';
import type { WorkloadAllowlist } from './autopilot';

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
   *  ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'] (Windows: the containerd named pipe) */
  hostSockets?: string[];
  /** default 2 cpu, 8Gi, 110 pods */
  allocatable?: { cpu: string; memory: string; pods?: string };
  /** default = name */
  hostname?: string;
  /**
   * Default linux / amd64. Sets the kubelet's labels kubernetes.io/os, kubernetes.io/arch (and the
   * deprecated beta.kubernetes.io/* twins) and status.nodeInfo. No taint is implied: GKE taints Windows
   * Server nodes node.kubernetes.io/os=windows:NoSchedule (WINDOWS_NODE_TAINT), AKS and EKS do not by
   * default, so a cloud's fleet builder adds it where the cloud does.
   */
  os?: 'linux' | 'windows';
  arch?: 'amd64' | 'arm64';
}

/** The taint GKE puts on Windows Server nodes (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-a-cluster-windows). */
export const WINDOWS_NODE_TAINT: Taint = { key: 'node.kubernetes.io/os', value: 'windows', effect: 'NoSchedule' };

export interface ClusterOptions {
  nodes: NodeSpec[];
  /** Decides whether a bearer token may call this cluster; return an identity string or null (401). */
  authenticate?: (token: string) => Promise<string | null>;
  /**
   * Decides whether the TLS client certificate the caller presented may call this cluster (x509 client
   * certificate authentication); return the user name or null. `clientCaAuthenticator(caPem)` in
   * client-ca.ts does what kube-apiserver's --client-ca-file does.
   */
  authenticateCertificate?: (cert: X509Certificate) => string | null;
  /** Pods of images in this set crash-loop instead of becoming Ready. */
  crashingImages?: Set<string>;
  /**
   * Platforms ("os/arch") each image's manifest list offers; an image not listed offers linux/amd64 and
   * linux/arm64. A pod on a node of another platform fails to pull (ErrImagePull, then ImagePullBackOff).
   */
  imagePlatforms?: Record<string, string[]>;
  /**
   * 'gke-autopilot': GKE Warden validates workloads (autopilot.ts): privileged containers, added
   * capabilities beyond Autopilot's set, host namespaces, host ports and hostPath volumes outside
   * /var/log/ (or mounted writable) are denied with 403 unless an installed WorkloadAllowlist exempts them.
   */
  admission?: 'gke-autopilot';
  /** WorkloadAllowlists installed on an Autopilot cluster (what an AllowlistSynchronizer would install); see also FakeKubeCluster.installAllowlist. */
  autopilotAllowlists?: WorkloadAllowlist[];
  /** Watch cache: how many writes it keeps (older resourceVersions are 410 Expired; default 2000), and how often a watch with allowWatchBookmarks gets a BOOKMARK (default 60 s, like kube-apiserver). */
  watch?: { historyLimit?: number; bookmarkIntervalMs?: number };
  /** Called when a pod becomes Ready / is deleted (the sandbox wires these to SensorEvents). */
  onPodReady?: (pod: any, node: NodeSpec) => void;
  onPodGone?: (pod: any, node: NodeSpec) => void;
}

export interface Faults {
  failNext?: { status: number; count: number; retryAfterSeconds?: number };
  latencyMs?: number;
  dropConnections?: number;
  /** A share of requests failing at random: 429 with Retry-After, 503, dropped connection, 500 after a write was done. */
  random?: RandomFaults;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  status: number;
}

export const DEFAULT_HOST_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock'];

/** What a sandbox image offers unless ClusterOptions.imagePlatforms says otherwise. */
export const DEFAULT_IMAGE_PLATFORMS = ['linux/amd64', 'linux/arm64'];
