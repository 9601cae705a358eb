/**
 * AKS cluster state -> what the engine does with it (pure).
 * provisioningState is the last ARM operation's state (Succeeded, Failed, Creating, Updating, Upgrading,
 * Scaling, Starting, Stopping, Deleting, Canceled, ...) and powerState.code whether the control plane
 * runs (Running) or was stopped with `az aks stop` (Stopped)
 * (https://learn.microsoft.com/rest/api/aks/managed-clusters/get, ManagedClusterProperties, PowerState;
 * https://learn.microsoft.com/azure/aks/start-stop-cluster).
 */
export interface AksState {
  provisioningState?: string;
  powerState?: { code?: string };
  status?: { provisioningError?: { code?: string; message?: string } };
}

export type AksReadiness =
  | { kind: 'ready'; status: string }
  /** an operation is in flight: retried until it ends */
  | { kind: 'not-ready'; status: string }
  /** the last operation failed: it will not become ready by waiting */
  | { kind: 'failed'; status: string; detail: string }
  /** stopped or being stopped: nothing to install until someone starts it */
  | { kind: 'stopped'; status: string; reason: string }
  | { kind: 'deleting'; status: string };

export function aksStatus(s: AksState): string {
  return `${s.provisioningState ?? 'Unknown'}/${s.powerState?.code ?? 'Unknown'}`;
}

export function aksReadiness(s: AksState): AksReadiness {
  const state = s.provisioningState ?? 'Unknown';
  const power = s.powerState?.code ?? 'Unknown';
  const status = aksStatus(s);
  if (state === 'Deleting') return { kind: 'deleting', status };
  if (state === 'Failed') {
    const e = s.status?.provisioningError;
    return { kind: 'failed', status, detail: e ? [e.code, e.message].filter(Boolean).join(': ') : '' };
  }
  if (state === 'Starting') return { kind: 'not-ready', status };
  if (state === 'Stopping') return { kind: 'stopped', status, reason: 'the cluster is being stopped (provisioningState Stopping); start it (az aks start) to have the sensor installed' };
  if (power === 'Stopped') return { kind: 'stopped', status, reason: 'the cluster is stopped (powerState Stopped): its API server and nodes are not running; start it (az aks start) to have the sensor installed' };
  if (state === 'Succeeded' && power === 'Running') return { kind: 'ready', status };
  return { kind: 'not-ready', status };
}
