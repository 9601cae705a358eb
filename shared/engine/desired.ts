import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { SensorfleetConfig } from '../config/schema';
import { sensorPodUrl } from '../config/qualys-platforms';
import type { ClusterRef } from '../domain/cluster-ref';
import { awsClient, whereLabel } from '../platforms/aws/clients';
import type { DesiredSensor } from '../platforms/types';
import { ConfigError, withContext } from '../runtime/errors';

const activationSecretSchema = z.object({
  activationId: z.string().min(1),
  customerId: z.string().min(1),
});

/**
 * Resolves the desired sensor once per run. Kubernetes needs the activation and customer ids as
 * values (they go into a Secret in the cluster); ECS only references the secret by ARN (task
 * definition `secrets`, read by the task execution role in the cluster's own account and region),
 * so for ECS clusters the secret's full ARN is looked up once per account and region.
 */
export async function resolveDesiredSensor(
  config: SensorfleetConfig,
  options: { needValues: boolean; region?: string; ecsScopes?: ClusterRef[] },
): Promise<DesiredSensor> {
  const podUrl = config.sensor.podUrl ?? sensorPodUrl(config.sensor.qualysPlatform);
  const secretId = config.credentials.secretsManagerSecretId;
  const arns = config.credentials.secretArn ? new Map<string, string>() : await fullSecretArns(config, options.ecsScopes ?? []);
  const desired: DesiredSensor = {
    config,
    podUrl,
    credentialsSecretArn: (ref: ClusterRef) =>
      config.credentials.secretArn ??
      arns.get(`${ref.scope}|${ref.location}`) ??
      // partial ARN (no random suffix): Secrets Manager resolves it when the name is unique
      `arn:aws:secretsmanager:${ref.location}:${ref.scope}:secret:${secretId}`,
  };
  if (options.needValues) desired.credentials = await readActivationSecret(secretId, options.region ?? process.env.AWS_REGION ?? 'us-east-1');
  return desired;
}

/** DescribeSecret per account and region (through the target's role), for the full ARN ECS wants with a JSON key. */
async function fullSecretArns(config: SensorfleetConfig, refs: ClusterRef[]): Promise<Map<string, string>> {
  const scopes = new Map(refs.map((r) => [`${r.scope}|${r.location}`, r]));
  const out = new Map<string, string>();
  await Promise.all(
    [...scopes.entries()].map(async ([key, ref]) => {
      const target = config.targets.aws.find((t) => t.accountId === ref.scope);
      const sm = awsClient(SecretsManagerClient, { region: ref.location, ...(target?.roleArn ? { roleArn: target.roleArn, externalId: target.externalId } : {}) });
      try {
        const d = await sm.send(new DescribeSecretCommand({ SecretId: config.credentials.secretsManagerSecretId }));
        if (d.ARN) out.set(key, d.ARN);
      } catch {
        // left to the partial ARN; the ECS task reports a clear error if the secret is missing there
      }
    }),
  );
  return out;
}

async function readActivationSecret(secretId: string, region: string): Promise<{ activationId: string; customerId: string }> {
  const sm = awsClient(SecretsManagerClient, { region });
  const out = await withContext(async () => `reading secret ${secretId} in ${await whereLabel({ region })}`, () => sm.send(new GetSecretValueCommand({ SecretId: secretId })));
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new ConfigError(`secret ${secretId} is not JSON; it must hold {"activationId": "...", "customerId": "..."}`);
  }
  const result = activationSecretSchema.safeParse(parsed);
  // The message names the missing keys only, never the values.
  if (!result.success) throw new ConfigError(`secret ${secretId} must hold activationId and customerId (missing or empty: ${result.error.issues.map((i) => i.path.join('.')).join(', ')})`);
  return result.data;
}
