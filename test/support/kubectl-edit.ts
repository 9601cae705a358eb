import { request } from 'node:https';
import { eksBearerToken } from '../../shared/platforms/eks/token';
import type { Sandbox } from '../sandbox/index';

/** A human's `kubectl edit` of an EKS cluster's object: a strategic merge patch by another field manager, with a real EKS token. */
export async function kubectlEdit(sandbox: Sandbox, ref: string, path: string, mergePatch: unknown): Promise<void> {
  const [, , region, clusterName] = ref.split(':') as [string, string, string, string];
  const endpoint = sandbox.kubeClusterFor(ref)!.endpoint;
  const token = await eksBearerToken({ clusterName, region, credentials: sandbox.aws.credentials });
  await new Promise<void>((resolve, reject) => {
    const u = new URL(endpoint + path);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PATCH', ca: sandbox.kube.caPem, headers: { 'content-type': 'application/strategic-merge-patch+json', authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${path}: HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(mergePatch));
  });
}

/** The sensor DaemonSet's memory limit changed by hand: drift the next reconcile reverts. */
export const SENSOR_MEMORY_EDIT = {
  path: '/apis/apps/v1/namespaces/qualys-sensor/daemonsets/qualys-container-sensor?fieldManager=kubectl-edit',
  patch: { spec: { template: { spec: { containers: [{ name: 'qualys-container-sensor', resources: { limits: { memory: '768Mi' } } }] } } } },
};
