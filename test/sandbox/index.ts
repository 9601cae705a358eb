import { EcsSchedulerSimulator } from './aws/ecs-scheduler';
import { AwsFront } from './aws/front';
import { StepFunctionsLanes } from './aws/step-functions';
import { keepEcsTasksRunning, startMoto, type MotoServer } from './aws/moto';
import { MotoClients } from './aws/moto-clients';
import { DEFAULT_ACCOUNT } from './aws/accounts';
import { createFleet, type Fleet } from './fleet';
import { FakeKubeApiServer, type FakeKubeCluster } from './kube';
import { SensorEvents } from './sensor-events';
import type { AzureSandbox } from './azure/index';
import type { GcpSandbox } from './gcp/index';

/**
 * The local fleet the tests and the demo run against (DESIGN §6): moto behind the AWS front, the ECS
 * scheduler simulator, one Kubernetes API server for every EKS cluster, and the sensor events they emit.
 */
export interface Sandbox {
  aws: { endpoint: string; region: string; accountId: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Sets AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; returns restore(). */
  useAwsEnv(): () => void;
  kube: FakeKubeApiServer;
  front: AwsFront;
  ecs: EcsSchedulerSimulator;
  sensors: SensorEvents;
  fleet: Fleet;
  /** The virtual Kubernetes cluster behind an EKS cluster ref (aws-eks:<account>:<region>:<name>). */
  kubeClusterFor(ref: string): FakeKubeCluster | undefined;
  /** The moto_server behind the front (for sandbox internals; products use aws.endpoint). */
  motoUrl: string;
  stop(): Promise<void>;
}

/** With `clouds: true`: the Azure (ARM, Entra) and Google (GKE, STS, IAM Credentials) stand-ins as well. */
export interface CloudSandbox extends Sandbox {
  azure: AzureSandbox;
  gcp: GcpSandbox;
}

const AWS_ENV = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

/**
 * stepFunctions: Step Functions state machines run (moto's executor in a moto of its own behind the front, aws/step-functions.ts).
 * motoEnv: environment of the sandbox's own moto_server (without motoUrl), e.g. bulk-fleet.ts's bulkMotoEnv().
 */
export async function startSandbox(opts: { motoUrl?: string; motoEnv?: Record<string, string>; region?: string; clouds: true; stepFunctions?: boolean }): Promise<CloudSandbox>;
export async function startSandbox(opts?: { motoUrl?: string; motoEnv?: Record<string, string>; region?: string; clouds?: false; stepFunctions?: boolean }): Promise<Sandbox>;
export async function startSandbox(opts: { motoUrl?: string; motoEnv?: Record<string, string>; region?: string; clouds?: boolean; stepFunctions?: boolean } = {}): Promise<Sandbox | CloudSandbox> {
  let ownMoto: MotoServer | undefined;
  const motoUrl = opts.motoUrl ?? (ownMoto = await startMoto(opts.motoEnv ? { env: opts.motoEnv } : {})).url;
  const region = opts.region ?? 'us-east-1';
  await keepEcsTasksRunning(motoUrl);
  const sensors = new SensorEvents();
  const moto = new MotoClients(motoUrl);
  const ecs = new EcsSchedulerSimulator(moto, sensors);
  const front = await AwsFront.start({ motoUrl, moto, scheduler: ecs });
  const kube = await FakeKubeApiServer.start();
  if (opts.stepFunctions) front.stepFunctions = await StepFunctionsLanes.start(front.url);
  ecs.start();
  const accountId = DEFAULT_ACCOUNT;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const fleet = createFleet({ moto, motoUrl, front, ecs, kube, sensors, accountId, region });
  const clouds = opts.clouds ? await startClouds({ kube, front, sensors, accountId }) : undefined;
  const base: Sandbox = {
    aws: { endpoint: front.url, region, accountId, credentials },
    useAwsEnv() {
      const saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
      for (const k of AWS_ENV) delete process.env[k];
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: front.url,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      });
      return () => {
        for (const k of AWS_ENV) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      };
    },
    kube,
    front,
    ecs,
    sensors,
    fleet,
    kubeClusterFor: (ref) => fleet.kubeCluster(ref),
    motoUrl,
    async stop() {
      await clouds?.azure.stop();
      await clouds?.gcp.stop();
      await ecs.stop();
      await front.stepFunctions?.stop();
      await front.stop();
      await kube.stop();
      moto.destroy();
      await ownMoto?.stop();
    },
  };
  return clouds ? { ...base, ...clouds } : base;
}

async function startClouds(o: { kube: FakeKubeApiServer; front: AwsFront; sensors: SensorEvents; accountId: string }): Promise<{ azure: AzureSandbox; gcp: GcpSandbox }> {
  // the Google and Azure SDK stand-ins load only for sandboxes that use them
  const [{ startAzureSandbox }, { startGcpSandbox }] = await Promise.all([import('./azure/index'), import('./gcp/index')]);
  const [azure, gcp] = await Promise.all([
    startAzureSandbox({ kube: o.kube, front: o.front, sensors: o.sensors }),
    startGcpSandbox({ kube: o.kube, front: o.front, sensors: o.sensors, awsAccountId: o.accountId }),
  ]);
  return { azure, gcp };
}

export type { Fleet } from './fleet';
export type { AwsFront } from './aws/front';
export type { EcsSchedulerSimulator } from './aws/ecs-scheduler';
