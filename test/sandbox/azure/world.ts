import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { resetArmClients } from '../../../shared/platforms/aks/arm';
import { resetAzureCredentials } from '../../../shared/platforms/aks/credential';
import { resetAwsClients } from '../../../shared/platforms/aws/clients';
import { resetWebIdentityTokens } from '../../../shared/platforms/aws/web-identity-token';
import { startSandbox, type Sandbox } from '../index';
import { guardLoopback, type LoopbackGuard } from '../loopback-guard';
import { startAzureSandbox, type AzureSandbox } from './index';

/**
 * What AKS tests start from: the AWS sandbox with the process running as the functions' role (an
 * assumed-role session, so GetWebIdentityToken's `sub` is the role ARN), the Azure stand-ins, and a guard
 * that records every outbound connection.
 */
export interface AzureWorld {
  sandbox: Sandbox;
  azure: AzureSandbox;
  /** arn:aws:iam::<account>:role/sensorfleet-worker: the subject Entra's federated credential trusts. */
  roleArn: string;
  loopback: LoopbackGuard;
  /** Forget cached AWS clients, web identity tokens, Azure credentials and ARM clients (a fresh process). */
  resetCaches(): void;
  stop(): Promise<void>;
}

export const FUNCTION_ROLE = 'sensorfleet-worker';

/** `motoUrl`: the test run's moto (vitest globalSetup); without it the sandbox starts its own. */
export async function startAzureWorld(motoUrl?: string): Promise<AzureWorld> {
  const loopback = guardLoopback();
  const sandbox = await startSandbox(motoUrl ? { motoUrl } : {});
  const restore = sandbox.useAwsEnv();
  const roleArn = `arn:aws:iam::${sandbox.aws.accountId}:role/${FUNCTION_ROLE}`;
  const sts = new STSClient({ endpoint: sandbox.aws.endpoint, region: sandbox.aws.region, credentials: sandbox.aws.credentials });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'sensorfleet-worker-session', DurationSeconds: 3600 }));
  sts.destroy();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: out.Credentials!.AccessKeyId!,
    AWS_SECRET_ACCESS_KEY: out.Credentials!.SecretAccessKey!,
    AWS_SESSION_TOKEN: out.Credentials!.SessionToken!,
  });
  const resetCaches = () => {
    resetAwsClients();
    resetWebIdentityTokens();
    resetAzureCredentials();
    resetArmClients();
  };
  resetCaches();
  const azure = await startAzureSandbox({ kube: sandbox.kube, front: sandbox.front, sensors: sandbox.sensors });
  return {
    sandbox,
    azure,
    roleArn,
    loopback,
    resetCaches,
    async stop() {
      await azure.stop();
      restore();
      resetCaches();
      await sandbox.stop();
      loopback.stop();
    },
  };
}
