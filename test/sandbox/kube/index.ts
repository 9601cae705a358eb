/** The sandbox Kubernetes API server: one HTTPS server, many virtual clusters (see server.ts, cluster.ts). */
export { FakeKubeApiServer } from './server';
export { FakeKubeCluster, ClusterSettleTimeoutError } from './cluster';
export type { Taint, NodeSpec, ClusterOptions, Faults, RecordedRequest } from './types';
export { DEFAULT_HOST_SOCKETS, DEFAULT_IMAGE_PLATFORMS, WINDOWS_NODE_TAINT } from './types';
export { clientCaAuthenticator, verifyClientCertificate, type CertificateUser } from './client-ca';
export { gkeWarden, wardenViolations, allowlistMismatch, MATCHING_ALLOWLIST_LABEL, type WorkloadAllowlist, type WorkloadAllowlistContainer } from './autopilot';
