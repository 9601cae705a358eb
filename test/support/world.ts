import { resetAwsClients } from '../../shared/platforms/aws/clients';
import { startSandbox, type Sandbox } from '../sandbox/index';
import { startQualysSandbox, type QualysSandbox } from '../sandbox/qualys/fixture';

/**
 * The sandbox with the AWS environment pointed at it, the activation secret in place and the
 * Qualys fake listening to sensor start/stop: what fleet-level tests start from.
 */
export interface TestWorld {
  sandbox: Sandbox;
  qualys: QualysSandbox;
  /** Stops Qualys from hearing sensor events (a sensor that never checks in); returns re-attach. */
  detachSensors(): () => void;
  stop(): Promise<void>;
}

export async function startTestWorld(motoUrl: string): Promise<TestWorld> {
  const sandbox = await startSandbox({ motoUrl });
  const restore = sandbox.useAwsEnv();
  resetAwsClients();
  await sandbox.fleet.putActivationSecret();
  const qualys = await startQualysSandbox(sandbox.aws.endpoint, { region: sandbox.aws.region, checkInIntervalMs: 200 });
  let detach = qualys.fake.attachSensorEvents(sandbox.sensors);
  return {
    sandbox,
    qualys,
    detachSensors() {
      detach();
      return () => (detach = qualys.fake.attachSensorEvents(sandbox.sensors));
    },
    async stop() {
      detach();
      await qualys.stop();
      restore();
      await sandbox.stop();
    },
  };
}
