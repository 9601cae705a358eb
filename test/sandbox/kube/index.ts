/** The sandbox Kubernetes API server: one HTTPS server, many virtual clusters (see server.ts, cluster.ts). */
export { FakeKubeApiServer } from './server';
export { FakeKubeCluster, ClusterSettleTimeoutError } from './cluster';
export type { Taint, NodeSpec, ClusterOptions, Faults, RecordedRequest } from './types';
export { DEFAULT_HOST_SOCKETS } from './types';
