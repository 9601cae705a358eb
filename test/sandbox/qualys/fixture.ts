import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConfig } from '../../../shared/config/load';
import type { SensorfleetConfig } from '../../../shared/config/schema';
import { FakeQualysServer, type FakeQualysOptions } from './server';

/**
 * A fake CS API plus the API credentials stored in (moto's) Secrets Manager under a unique name,
 * and a config pointing at both: what tests, the demo and the benchmark start from. The caller sets
 * AWS_ENDPOINT_URL to moto (the standard SDK setting) before running the product code.
 */
export interface QualysSandbox {
  fake: FakeQualysServer;
  secretId: string;
  config(qualys?: Record<string, unknown>, rest?: Record<string, unknown>): SensorfleetConfig;
  stop(): Promise<void>;
}

export async function startQualysSandbox(motoUrl: string, opts: FakeQualysOptions & { region?: string } = {}): Promise<QualysSandbox> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'eu-west-1';
  const username = `sensorfleet-${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const fake = await new FakeQualysServer({ ...opts, users: [{ username, password }] }).start();
  const secretId = `sensorfleet/qualys-api-${randomBytes(4).toString('hex')}`;
  const sm = new SecretsManagerClient({ region, endpoint: motoUrl, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await sm.send(new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify({ username, password }) }));
  sm.destroy();
  return {
    fake,
    secretId,
    config: (qualys = {}, rest = {}) =>
      parseConfig({
        ...rest,
        qualys: {
          baseUrl: fake.url,
          auth: { secretId, secretRegion: region },
          retry: { attempts: 6, baseDelayMs: 20, maxDelayMs: 300 },
          maxRateLimitWaitSeconds: 30,
          ...qualys,
        },
      }),
    stop: () => fake.stop(),
  };
}
