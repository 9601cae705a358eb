/**
 * What `sensorfleet sandbox --fleet demo` starts with: the demo's fleet as it stands before sensorfleet
 * enrolled it (clusters and nodes, no sensor yet), and Qualys with sensors left behind by hosts that are
 * gone. One seeder per platform; AKS and GKE seeders join DEMO_FLEET when their stand-ins are wired
 * into startSandbox (each gets the whole Sandbox and returns the clusters it made).
 */
import type { Platform } from '../../shared/domain/cluster-ref';
import type { Sandbox } from './index';
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

/** Per platform, in the order they are created. */
export const DEMO_FLEET: ClusterSeeder[] = [seedEcs, seedEks];

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
