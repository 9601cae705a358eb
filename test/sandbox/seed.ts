/**
 * What `sensorfleet sandbox --fleet demo` starts with: the demo's fleet as it stands before sensorfleet
 * enrolled it (clusters and nodes, no sensor yet), and Qualys with sensors left behind by hosts that are
 * gone. One seeder per platform (each gets the whole Sandbox and returns the clusters it made); the AKS
 * and GKE seeders need the sandbox's cloud stand-ins (startSandbox({ clouds: true })).
 */
import type { Platform } from '../../shared/domain/cluster-ref';
import type { CloudSandbox, Sandbox } from './index';
import type { FakeQualysServer } from './qualys/server';

export interface SeededCluster {
  ref: string;
  platform: Platform;
  /** One line for the listing the sandbox prints, e.g. "3 container instances". */
  note: string;
}

export type ClusterSeeder = (sandbox: Sandbox) => Promise<SeededCluster[]>;

export const seedEcs: ClusterSeeder = async (sandbox) => {
  const payments = await sandbox.fleet.createEcsCluster({ name: 'payments-ecs', instances: 3, tags: { team: 'payments' } });
  const batch = await sandbox.fleet.createEcsCluster({ name: 'batch-ecs', instances: 2, tags: { team: 'data' } });
  return [
    { ref: payments.ref, platform: 'aws-ecs', note: '3 container instances' },
    { ref: batch.ref, platform: 'aws-ecs', note: '2 container instances' },
  ];
};

export const seedEks: ClusterSeeder = async (sandbox) => {
  const web = await sandbox.fleet.createEksCluster({
    name: 'web-eks',
    nodes: [{ name: 'web-1' }, { name: 'web-2' }, { name: 'web-ingress-1', taints: [{ key: 'dedicated', value: 'ingress', effect: 'NoSchedule' }] }],
    tags: { team: 'web' },
  });
  const data = await sandbox.fleet.createEksCluster({ name: 'data-eks', nodes: [{ name: 'data-1' }, { name: 'data-2', arch: 'arm64' }], tags: { team: 'data' } });
  return [
    { ref: web.ref, platform: 'aws-eks', note: '3 nodes, one tainted dedicated=ingress:NoSchedule' },
    { ref: data.ref, platform: 'aws-eks', note: '2 nodes (amd64, arm64)' },
  ];
};

/** AKS: an Entra-integrated cluster (system, spot and Windows pools) and one with local accounts. */
export const seedAks: ClusterSeeder = async (sandbox) => {
  const azure = cloudsOf(sandbox).azure;
  const payments = await azure.fleet.createAksCluster({
    resourceGroup: 'rg-payments',
    name: 'payments-aks',
    mode: 'entra',
    nodePools: [{ name: 'system', count: 2 }, { name: 'spot', count: 1, spot: true }, { name: 'win', count: 1, osType: 'Windows' }],
    tags: { team: 'payments' },
  });
  const legacy = await azure.fleet.createAksCluster({ resourceGroup: 'rg-legacy', name: 'legacy-aks', mode: 'local', nodePools: [{ name: 'nodepool1', count: 2 }] });
  return [
    { ref: payments.ref, platform: 'azure-aks', note: 'Entra-integrated; system (2), spot (1) and Windows (1, out of scope) pools' },
    { ref: legacy.ref, platform: 'azure-aks', note: 'local accounts (client certificate); 2 nodes' },
  ];
};

export const SANDBOX_GCP_PROJECT = 'sensorfleet-sandbox';
export const SANDBOX_GCP_PROJECT_NUMBER = '614082201467';

/** GKE: a Standard cluster with an x86 and an Arm pool, and an Autopilot cluster (needs the partner allowlist). */
export const seedGke: ClusterSeeder = async (sandbox) => {
  const gcp = cloudsOf(sandbox).gcp;
  const where = { projectId: SANDBOX_GCP_PROJECT, projectNumber: SANDBOX_GCP_PROJECT_NUMBER };
  const web = await gcp.fleet.createGkeCluster({ ...where, location: 'europe-west1', name: 'web-gke', nodePools: [{ name: 'default-pool', nodeCount: 2 }, { name: 'arm-pool', nodeCount: 1, arch: 'arm64' }], labels: { team: 'web' } });
  const auto = await gcp.fleet.createGkeCluster({ ...where, location: 'us-central1', name: 'batch-autopilot', autopilot: true, nodePools: [] });
  return [
    { ref: web.ref, platform: 'gcp-gke', note: 'Standard; default (2) and Arm (1) pools' },
    { ref: auto.ref, platform: 'gcp-gke', note: 'Autopilot (skipped until the partner allowlist is installed)' },
  ];
};

function cloudsOf(sandbox: Sandbox): CloudSandbox {
  const s = sandbox as Partial<CloudSandbox>;
  if (!s.azure || !s.gcp) throw new Error('the AKS and GKE seeders need startSandbox({ clouds: true })');
  return s as CloudSandbox;
}

/** Per platform, in the order they are created. */
export const DEMO_FLEET: ClusterSeeder[] = [seedEcs, seedEks, seedAks, seedGke];

export async function seedDemoFleet(sandbox: Sandbox, seeders: ClusterSeeder[] = DEMO_FLEET): Promise<SeededCluster[]> {
  const out: SeededCluster[] = [];
  for (const seed of seeders) out.push(...(await seed(sandbox)));
  return out;
}

/** Sensors of hosts long gone (what `qualys sync` purges) and a few recent ones it must keep, as in the demo. */
export function seedQualysSensors(fake: FakeQualysServer): void {
  fake.seedSensors(6, { status: 'UNKNOWN', lastCheckedInDaysAgo: 45, hostnamePrefix: 'ip-10-9-0-' });
  fake.seedSensors(3, { status: 'UNKNOWN', lastCheckedInDaysAgo: 5, hostnamePrefix: 'ip-10-9-1-' });
}
