/**
 * Azure AKS, cloud half: find managed clusters through ARM and connect to their API servers; observe,
 * plan, apply and verify are the shared Kubernetes half (kubernetes/cloud-adapter.ts).
 *
 * Connect = managedClusters.get (readiness from provisioningState + powerState) and the cluster user
 * kubeconfig from listClusterUserCredential (server + CA, and for local accounts the credential itself).
 * Entra-integrated clusters (aadProfile) authenticate with an Entra token for the AKS server application,
 * which is what kubelogin would fetch (https://learn.microsoft.com/azure/aks/kubelogin-authentication);
 * clusters with local accounts with the kubeconfig's client certificate (and token).
 * The kubeconfig is reused while the cluster's eTag is unchanged (at most 10 minutes):
 * listClusterUserCredential is a POST action, which ARM counts against the subscription's write
 * budget, and a warm worker reconciles the same cluster often.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import { formatClusterRef, type ClusterRef } from '../../domain/cluster-ref';
import { ClusterNotFoundError, ClusterNotReadyError, ClusterSkippedError, ConfigError, SensorfleetError } from '../../runtime/errors';
import type { KubernetesCloud } from '../kubernetes/cloud-adapter';
import { KubeClient, type KubeClientConfig } from '../kubernetes/client';
import type { KubeHandle } from '../kubernetes/lifecycle';
import type { ConnectedCluster, DiscoveryScope } from '../types';
import { armCall, armClient } from './arm';
import type { AzureTarget } from './config';
import { AKS_SCOPE, azureCredential } from './credential';
import { AksClusterDeletingError, AksClusterFailedError, AzureApiError, AzureAuthenticationError } from './errors';
import { parseKubeconfig, type ParsedKubeconfig } from './kubeconfig';
import { probeApiServer } from './reachability';
import { aksReadiness } from './readiness';
import { aksRefFromResourceId } from './refs';

export interface AksHandle extends KubeHandle {
  resourceId: string;
  /** API server URL from the user kubeconfig. */
  server: string;
  access: 'entra' | 'local-account';
  private: boolean;
  version?: string;
}

const KUBECONFIG_REUSE_MS = 10 * 60_000;

export function createAksCloud(options: { targets: AzureTarget[] }): KubernetesCloud<AksHandle> {
  const kubeconfigs = new Map<string, { version: string; at: number; value: ParsedKubeconfig }>();

  const targetFor = (subscription: string): AzureTarget => {
    const target = options.targets.find((t) => t.subscriptionId.toLowerCase() === subscription.toLowerCase());
    if (!target) throw new ConfigError(`Azure subscription ${subscription} is not a configured target (targets.azure); AKS clusters there are not managed`);
    return target;
  };

  const userKubeconfig = async (target: AzureTarget, ref: ClusterRef, mc: ManagedCluster): Promise<ParsedKubeconfig> => {
    const id = formatClusterRef(ref);
    // any operation on the cluster (certificate rotation, disabling local accounts, upgrades) changes its eTag
    const version = [mc.eTag, mc.fqdn, mc.privateFqdn, !!mc.aadProfile, mc.disableLocalAccounts].join('|');
    const hit = kubeconfigs.get(id);
    if (hit && hit.version === version && Date.now() - hit.at < KUBECONFIG_REUSE_MS) return hit.value;
    const creds = await armCall(`ARM managedClusters.listClusterUserCredential ${id}`, () => armClient(target, target.subscriptionId).managedClusters.listClusterUserCredentials(ref.location, ref.name));
    const value = creds.kubeconfigs?.[0]?.value;
    if (!value) throw new SensorfleetError(`listClusterUserCredential of cluster ${id} returned no kubeconfig`);
    const parsed = parseKubeconfig(Buffer.from(value).toString('utf8'), `user kubeconfig of cluster ${id}`);
    kubeconfigs.set(id, { version, at: Date.now(), value: parsed });
    return parsed;
  };

  return {
    platform: 'azure-aks',

    async discover(scope: DiscoveryScope): Promise<ClusterRef[]> {
      const target = targetFor(scope.scope);
      const client = armClient(target, target.subscriptionId);
      const all = scope.location === '*';
      const what = all ? `ARM managedClusters.list (subscription ${scope.scope})` : `ARM managedClusters.listByResourceGroup (subscription ${scope.scope}, resource group ${scope.location})`;
      return armCall(what, async () => {
        const refs: ClusterRef[] = [];
        // the SDK's paged iterator follows nextLink until the last page
        for await (const mc of all ? client.managedClusters.list() : client.managedClusters.listByResourceGroup(scope.location)) {
          if (mc.id) refs.push(aksRefFromResourceId(mc.id));
        }
        return refs;
      });
    },

    async connect(ref: ClusterRef): Promise<ConnectedCluster<AksHandle>> {
      const id = formatClusterRef(ref);
      const target = targetFor(ref.scope);
      let mc: ManagedCluster;
      try {
        mc = await armCall(`ARM managedClusters.get ${id}`, () => armClient(target, target.subscriptionId).managedClusters.get(ref.location, ref.name));
      } catch (err) {
        if (err instanceof AzureApiError && err.status === 404) throw new ClusterNotFoundError(id);
        throw err;
      }
      const readiness = aksReadiness(mc);
      switch (readiness.kind) {
        case 'deleting':
          throw new AksClusterDeletingError(id);
        case 'failed':
          throw new AksClusterFailedError(id, readiness.detail);
        case 'stopped':
          throw new ClusterSkippedError(id, readiness.reason, readiness.status);
        case 'not-ready':
          throw new ClusterNotReadyError(id, readiness.status);
      }
      const entra = !!mc.aadProfile;
      const clusterTenant = mc.aadProfile?.tenantID;
      if (entra && clusterTenant && clusterTenant.toLowerCase() !== target.tenantId.toLowerCase()) {
        throw new SensorfleetError(`cluster ${id} trusts Entra tenant ${clusterTenant}, but sensorfleet's application ${target.clientId} signs in to tenant ${target.tenantId}; its tokens would be refused`);
      }
      const kubeconfig = await userKubeconfig(target, ref, mc);
      const isPrivate = mc.apiServerAccessProfile?.enablePrivateCluster === true;
      if (isPrivate) {
        const probe = await probeApiServer(kubeconfig.server);
        if (!probe.reachable) {
          const name = mc.privateFqdn ?? new URL(kubeconfig.server).hostname;
          throw new ClusterSkippedError(
            id,
            `private cluster: its API server ${name} is reachable only from the cluster's virtual network, and from here ${probe.reason}; run the worker in a network that reaches it (VNet peering, VPN or a private endpoint)`,
            readiness.status,
          );
        }
      }
      const kube = new KubeClient(entra ? entraAccess(target, kubeconfig, id) : localAccountAccess(kubeconfig, id));
      return {
        ref,
        status: readiness.status,
        tags: { ...(mc.tags ?? {}) },
        handle: {
          kube,
          resourceId: mc.id ?? id,
          server: kubeconfig.server,
          access: entra ? 'entra' : 'local-account',
          private: isPrivate,
          ...(mc.currentKubernetesVersion ? { version: mc.currentKubernetesVersion } : {}),
        },
      };
    },
  };
}

/** Entra-integrated: the kubeconfig's exec plugin (kubelogin) is replaced by our own token for the AKS server application. */
function entraAccess(target: AzureTarget, kubeconfig: ParsedKubeconfig, id: string): KubeClientConfig {
  const credential = azureCredential(target);
  return {
    server: kubeconfig.server,
    caPem: kubeconfig.caPem,
    token: async () => {
      const t = await credential.getToken(AKS_SCOPE);
      if (!t) throw new AzureAuthenticationError(`Entra ID issued no token for the AKS server application (cluster ${id})`);
      return t.token;
    },
    unauthorizedHint: `the Entra token of application ${target.clientId} (tenant ${target.tenantId}) was refused; check the cluster's Entra integration`,
  };
}

/** Local accounts: the credential is in the kubeconfig (client certificate and key, often a token too). */
function localAccountAccess(kubeconfig: ParsedKubeconfig, id: string): KubeClientConfig {
  const { clientCertificate, token, exec, authProvider } = kubeconfig.user;
  if (!clientCertificate && !token) {
    const uses = exec ? `the exec plugin ${exec}` : authProvider ? `the auth provider ${authProvider}` : 'no credential';
    throw new SensorfleetError(`cluster ${id} has no Entra integration, but its user kubeconfig has ${uses} instead of a client certificate or token; sensorfleet cannot run credential plugins`);
  }
  return {
    server: kubeconfig.server,
    caPem: kubeconfig.caPem,
    ...(clientCertificate ? { clientCertificate } : {}),
    ...(token ? { token: async () => token } : {}),
    unauthorizedHint: 'the local account credential from listClusterUserCredential was refused (certificates rotated or local accounts disabled since it was read)',
  };
}
