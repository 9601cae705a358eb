/**
 * The sandbox's kubeconfig (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/):
 * one cluster, user and context per Kubernetes cluster of the sandbox, the server's CA as
 * certificate-authority-data, and an exec credential plugin as the user (exec-credential.ts), so no
 * token is written down and none goes stale. Rewritten in place (write + rename) when a cluster is added.
 */
import { renameSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import type { ExecConfig } from './exec-credential';

export interface KubeconfigCluster {
  /** The sensorfleet cluster ref: also the kubeconfig's cluster and user name. */
  ref: string;
  server: string;
  caPem: string;
  exec: ExecConfig;
}

/** Context names people type: the cluster's own name, qualified by platform only where two share it. */
export function contextNames(refs: string[]): Map<string, string> {
  const byName = new Map<string, number>();
  for (const ref of refs) byName.set(parseClusterRef(ref).name, (byName.get(parseClusterRef(ref).name) ?? 0) + 1);
  return new Map(
    refs.map((ref) => {
      const r = parseClusterRef(ref);
      return [ref, byName.get(r.name)! > 1 ? `${r.platform}-${r.scope}-${r.location}-${r.name}` : r.name];
    }),
  );
}

export function renderKubeconfig(clusters: KubeconfigCluster[], currentContext?: string): string {
  const names = contextNames(clusters.map((c) => c.ref));
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((c) => ({ name: c.ref, cluster: { server: c.server, 'certificate-authority-data': b64(c.caPem) } })),
    users: clusters.map((c) => ({ name: c.ref, user: { exec: c.exec } })),
    contexts: clusters.map((c) => ({ name: names.get(c.ref)!, context: { cluster: c.ref, user: c.ref } })),
    'current-context': currentContext ?? (clusters[0] ? names.get(clusters[0].ref)! : ''),
    preferences: {},
  });
}

/** Writes atomically: kubectl may read the file at any moment. */
export function writeKubeconfig(path: string, clusters: KubeconfigCluster[], currentContext?: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, renderKubeconfig(clusters, currentContext), { mode: 0o600 });
  renameSync(tmp, path);
}
