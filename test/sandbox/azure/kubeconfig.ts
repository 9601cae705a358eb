import YAML from 'yaml';
import { AKS_SERVER_APP_ID } from './entra';

/**
 * The kubeconfigs AKS hands out (what `az aks get-credentials` writes): one cluster, one context, one user
 * named clusterUser_<rg>_<name> / clusterAdmin_<rg>_<name>. Entra clusters get an exec user that runs
 * kubelogin (format=exec, the default since Kubernetes 1.24) or the legacy azure auth-provider
 * (format=azure) (https://learn.microsoft.com/azure/aks/kubelogin-authentication); local-account
 * clusters a client certificate, its key and a static token.
 */
/** The public client id of the Azure CLI, which kubelogin's device-code login uses. */
const AZURE_CLI_CLIENT_ID = '80faf920-1908-4b52-b5ef-a8e7bedfc67a';

export interface KubeconfigCluster {
  name: string;
  resourceGroup: string;
  server: string;
  caPem: string;
}

export function entraUserKubeconfig(c: KubeconfigCluster, tenantId: string, format: 'exec' | 'azure' = 'exec'): string {
  const user =
    format === 'azure'
      ? { 'auth-provider': { config: { 'apiserver-id': AKS_SERVER_APP_ID, 'client-id': AZURE_CLI_CLIENT_ID, 'config-mode': '1', environment: 'AzurePublicCloud', 'tenant-id': tenantId }, name: 'azure' } }
      : {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            args: ['get-token', '--environment', 'AzurePublicCloud', '--server-id', AKS_SERVER_APP_ID, '--client-id', AZURE_CLI_CLIENT_ID, '--tenant-id', tenantId, '--login', 'devicecode'],
            command: 'kubelogin',
            env: null,
            installHint: '\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n',
            interactiveMode: 'IfInteractive',
            provideClusterInfo: false,
          },
        };
  return document(c, `clusterUser_${c.resourceGroup}_${c.name}`, user);
}

export function localAccountKubeconfig(c: KubeconfigCluster, who: 'clusterUser' | 'clusterAdmin', cred: { certPem: string; keyPem: string; token: string }): string {
  return document(c, `${who}_${c.resourceGroup}_${c.name}`, {
    'client-certificate-data': b64(cred.certPem),
    'client-key-data': b64(cred.keyPem),
    token: cred.token,
  });
}

function document(c: KubeconfigCluster, userName: string, user: unknown): string {
  return YAML.stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': b64(c.caPem), server: c.server }, name: c.name }],
    contexts: [{ context: { cluster: c.name, user: userName }, name: c.name }],
    'current-context': c.name,
    kind: 'Config',
    preferences: {},
    users: [{ name: userName, user }],
  });
}

function b64(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}
