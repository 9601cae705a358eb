import { DEFAULT_ACCOUNT } from '../aws/accounts';
import type { AwsFront } from '../aws/front';
import type { FakeKubeApiServer } from '../kube';
import type { SensorEvents } from '../sensor-events';
import { createGkeFleet, type GkeFleet } from './fleet';
import { FakeGkeApi, type GkeApiFaults } from './gke-api';
import { startHttpsServer, type GoogleFaults, type RecordedGoogleRequest } from './https';
import { iamCredentialsHandler } from './iam-credentials';
import { GoogleIdentity, principalSetFor } from './identity';
import { stsHandler } from './sts';

/**
 * The Google half of the sandbox: a local GKE API, Google STS and IAM Credentials, each on its own
 * HTTPS server on 127.0.0.1 (sandbox CA), sharing one identity store. Out of the box it holds the
 * setup infra/ would create: a workload identity pool provider trusting the AWS account's outbound
 * identity issuer (the sandbox AWS front's), and a service account the pool's identities may
 * impersonate, granted on every project a cluster is created in.
 */
export interface GcpSandbox {
  containerUrl: string;
  stsUrl: string;
  iamUrl: string;
  /** projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> */
  providerName: string;
  serviceAccountEmail: string;
  identity: GoogleIdentity;
  gke: FakeGkeApi;
  fleet: GkeFleet;
  requests: { gke: RecordedGoogleRequest[]; sts: RecordedGoogleRequest[]; iam: RecordedGoogleRequest[] };
  faults: { gke: GkeApiFaults; sts: GoogleFaults; iam: GoogleFaults };
  /** A targets.gcp[] entry for a project, pointed at these stand-ins (aws-federation + impersonation). */
  target(projectId: string, extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

export const HOST_PROJECT_NUMBER = '884512937162';
export const POOL_PROVIDER = `projects/${HOST_PROJECT_NUMBER}/locations/global/workloadIdentityPools/sensorfleet/providers/aws-control-plane`;
export const SERVICE_ACCOUNT = 'sensorfleet@sensorfleet-host.iam.gserviceaccount.com';

export async function startGcpSandbox(o: { kube: FakeKubeApiServer; front: AwsFront; sensors: SensorEvents; awsAccountId?: string }): Promise<GcpSandbox> {
  const identity = new GoogleIdentity();
  identity.addProvider({ name: POOL_PROVIDER, issuer: o.front.webIdentity.issuerFor(o.awsAccountId ?? DEFAULT_ACCOUNT), allowedAudiences: [] });
  identity.addServiceAccount(SERVICE_ACCOUNT, [principalSetFor(POOL_PROVIDER)]);

  const requests = { gke: [] as RecordedGoogleRequest[], sts: [] as RecordedGoogleRequest[], iam: [] as RecordedGoogleRequest[] };
  const faults = { sts: {} as GoogleFaults, iam: {} as GoogleFaults };
  let gke: FakeGkeApi | undefined;
  const { fleet, backing } = createGkeFleet({
    get gke() {
      return gke!;
    },
    kube: o.kube,
    identity,
    sensors: o.sensors,
    serviceAccountEmail: SERVICE_ACCOUNT,
  });
  gke = new FakeGkeApi(identity, backing);

  const container = await startHttpsServer(gke.handle);
  const sts = await startHttpsServer(stsHandler({ identity, jwks: () => o.front.webIdentity.jwks(), faults: faults.sts, requests: requests.sts }));
  const iam = await startHttpsServer(iamCredentialsHandler({ identity, faults: faults.iam, requests: requests.iam }));

  return {
    containerUrl: container.url,
    stsUrl: sts.url,
    iamUrl: iam.url,
    providerName: POOL_PROVIDER,
    serviceAccountEmail: SERVICE_ACCOUNT,
    identity,
    gke,
    fleet,
    requests: { ...requests, gke: gke.requests },
    faults: {
      get gke() {
        return gke!.faults;
      },
      sts: faults.sts,
      iam: faults.iam,
    },
    target: (projectId, extra = {}) => ({
      projectId,
      auth: { method: 'aws-federation', workloadIdentityProvider: POOL_PROVIDER, serviceAccountEmail: SERVICE_ACCOUNT },
      endpoints: { container: container.url, sts: sts.url, iamCredentials: iam.url },
      ...extra,
    }),
    async stop() {
      await Promise.all([container.stop(), sts.stop(), iam.stop()]);
    },
  };
}

export type { GkeFleet, GkeClusterSpec } from './fleet';
export { kubeClusterId } from './fleet';
