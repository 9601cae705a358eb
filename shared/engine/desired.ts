import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { SensorfleetConfig } from '../config/schema';
import { sensorPodUrl } from '../config/qualys-platforms';
import type { ClusterRef } from '../domain/cluster-ref';
import { awsClient } from '../platforms/aws/clients';
import type { DesiredSensor } from '../platforms/types';
import { ConfigError } from '../runtime/errors';

const activationSecretSchema = z.object({
  activationId: z.string().min(1),
  customerId: z.string().min(1),
});

/**
 * Resolves the desired sensor once per run. Kubernetes needs the activation and customer ids as
 * values (they go into a Secret in the cluster); ECS only references the secret by ARN, so the
 * secret is read only when `needValues` is set.
 */
export async function resolveDesiredSensor(
  config: SensorfleetConfig,
  options: { needValues: boolean; region?: string },
): Promise<DesiredSensor> {
  const podUrl = config.sensor.podUrl ?? sensorPodUrl(config.sensor.qualysPlatform);
  const secretId = config.credentials.secretsManagerSecretId;
  const desired: DesiredSensor = {
    config,
    podUrl,
    credentialsSecretArn: (ref: ClusterRef) =>
      config.credentials.secretArn ?? `arn:aws:secretsmanager:${ref.location}:${ref.scope}:secret:${secretId}`,
  };
  if (options.needValues) desired.credentials = await readActivationSecret(secretId, options.region ?? process.env.AWS_REGION ?? 'us-east-1');
  return desired;
}

async function readActivationSecret(secretId: string, region: string): Promise<{ activationId: string; customerId: string }> {
  const sm = awsClient(SecretsManagerClient, { region });
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
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
