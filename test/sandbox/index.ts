import { EcsSchedulerSimulator } from './aws/ecs-scheduler';
import { AwsFront } from './aws/front';
import { keepEcsTasksRunning, startMoto, type MotoServer } from './aws/moto';
import { MotoClients } from './aws/moto-clients';
import { DEFAULT_ACCOUNT } from './aws/accounts';
import { createFleet, type Fleet } from './fleet';
import { FakeKubeApiServer, type FakeKubeCluster } from './kube';
import { SensorEvents } from './sensor-events';

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

const AWS_ENV = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

export async function startSandbox(opts: { motoUrl?: string; region?: string } = {}): Promise<Sandbox> {
  let ownMoto: MotoServer | undefined;
  const motoUrl = opts.motoUrl ?? (ownMoto = await startMoto()).url;
  const region = opts.region ?? 'us-east-1';
  await keepEcsTasksRunning(motoUrl);
  const sensors = new SensorEvents();
  const moto = new MotoClients(motoUrl);
  const ecs = new EcsSchedulerSimulator(moto, sensors);
  const front = await AwsFront.start({ motoUrl, moto, scheduler: ecs });
  const kube = await FakeKubeApiServer.start();
  ecs.start();
  const accountId = DEFAULT_ACCOUNT;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const fleet = createFleet({ moto, motoUrl, front, ecs, kube, sensors, accountId, region });
  return {
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
      await ecs.stop();
      await front.stop();
      await kube.stop();
      moto.destroy();
      await ownMoto?.stop();
    },
  };
}

export type { Fleet } from './fleet';
export type { AwsFront } from './aws/front';
export type { EcsSchedulerSimulator } from './aws/ecs-scheduler';
