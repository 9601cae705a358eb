import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli';
import { parseConfig } from '../../shared/config/load';
import { parseClusterRef } from '../../shared/domain/cluster-ref';
import { ConfigError } from '../../shared/runtime/errors';

/** Stricter input (issue 10): platform naming rules in cluster references, Qualys platforms from the table, 12-digit accounts. */
const run = (...argv: string[]) => runCli(argv);

const CONFIG_ENV = ['SENSORFLEET_CONFIG', 'SENSORFLEET_CONFIG_FILE'] as const;
let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = Object.fromEntries(CONFIG_ENV.map((k) => [k, process.env[k]]));
  for (const k of CONFIG_ENV) delete process.env[k];
});
afterEach(() => {
  for (const k of CONFIG_ENV) if (saved[k] === undefined) delete process.env[k];
  else process.env[k] = saved[k];
});

describe('cluster references follow their platform naming rules', () => {
  it.each([
    'aws-ecs:123456789012:us-east-1:batch_jobs-2',
    'aws-eks:123456789012:us-gov-west-1:Payments-1',
    'aws-eks:123456789012:ap-southeast-5:a',
    'azure-aks:0B1F6471-1BF0-4DDA-AEC3-111122223333:MC_rg.prod(1):aks_prod-1',
    'gcp-gke:shop-prod-42:europe-west1-b:gke-1',
    'gcp-gke:0123456789:us-central1:test-cluster',
  ])('accepts %s', (ref) => expect(() => parseClusterRef(ref)).not.toThrow());

  it.each([
    ['aws-eks:999:us-east-1:web', 'invalid account "999": want a 12-digit AWS account id'],
    ['aws-ecs:1234567890123:us-east-1:web', 'invalid account "1234567890123"'],
    ['aws-ecs:123456789012:us-east:web', 'invalid region "us-east": want an AWS region such as eu-west-1'],
    ['aws-ecs:123456789012:US-EAST-1:web', 'invalid region'],
    ['aws-ecs:123456789012:us-east-1:web.prod', 'invalid name "web.prod": want an ECS cluster name'],
    ['aws-eks:123456789012:us-east-1:-web', 'invalid name "-web": want an EKS cluster name'],
    ['aws-eks:123456789012:us-east-1:bad name', 'invalid name'],
    ['azure-aks:not-a-guid:rg:aks', 'invalid subscription "not-a-guid": want an Azure subscription id (a GUID)'],
    ['azure-aks:0b1f6471-1bf0-4dda-aec3-111122223333:rg.:aks', 'invalid resource group "rg."'],
    ['azure-aks:0b1f6471-1bf0-4dda-aec3-111122223333:rg:_aks', 'invalid name "_aks": want an AKS cluster name'],
    ['azure-aks:0b1f6471-1bf0-4dda-aec3-111122223333:rg:' + 'a'.repeat(64), 'want an AKS cluster name'],
    ['gcp-gke:Shop-Prod:us-central1:gke', 'invalid project "Shop-Prod": want a GCP project id'],
    ['gcp-gke:shop:us-central1:gke', 'invalid project "shop"'],
    ['gcp-gke:shop-prod:us-central:gke', 'invalid location "us-central": want a GCP region or zone'],
    ['gcp-gke:shop-prod:us-central1:gke_1', 'invalid name "gke_1": want a GKE cluster name'],
    ['gcp-gke:shop-prod:us-central1:gke-', 'invalid name "gke-"'],
    ['gcp-gke:shop-prod:us-central1:' + 'g'.repeat(41), 'want a GKE cluster name'],
  ])('rejects %s', (ref, reason) => expect(() => parseClusterRef(ref)).toThrow(reason));

  it.each([
    [['plan', '--cluster', 'aws-eks:999:us-east-1:web']],
    [['reconcile', '--cluster', 'aws-ecs:123456789012:us-east-1:web.prod']],
    [['status', '--cluster', 'gcp-gke:Shop:us-central1:gke']],
    [['redeploy', '--cluster', 'aws-eks:999:us-east-1:web', '--reason', 'INC-1 test', '--now']],
  ])('the CLI rejects it before any call: %j -> exit 2', async (argv) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cluster reference ".+": invalid (account|name|project)/);
  });
});

describe('Qualys platforms and account ids in the configuration', () => {
  const problems = (raw: unknown): string => {
    try {
      parseConfig(raw);
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('qualys.platform must be one of the known platforms, unless baseUrl says where the gateway is', () => {
    expect(problems({ qualys: { platform: 'MARS' } })).toContain('qualys.platform: unknown "MARS": want a Qualys platform: one of US1, US2');
    expect(problems({ qualys: { platform: 'eu2' } })).toBe('');
    expect(problems({ qualys: { platform: 'MARS', baseUrl: 'https://gateway.qualys.example' } })).toBe('');
    expect(problems({ sensor: { qualysPlatform: 'MARS' } })).toContain('sensor.qualysPlatform: want a Qualys platform');
  });

  it('12-digit account ids in targets and in Qualys registry connectors', () => {
    expect(problems({ targets: { aws: [{ accountId: '999', regions: ['us-east-1'] }] } })).toContain('targets.aws.0.accountId: a 12-digit AWS account id');
    const registry = (aws: Record<string, unknown>) => ({ qualys: { schedules: { registries: [{ uri: 'https://999.dkr.ecr.us-east-1.amazonaws.com', type: 'AWS', aws }] } } });
    expect(problems(registry({ accountId: '999', roleArn: 'arn:aws:iam::999:role/scan', region: 'us-east-1' }))).toMatch(/aws\.accountId: a 12-digit AWS account id[\s\S]*aws\.roleArn: an IAM role ARN/);
    expect(problems(registry({ accountId: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/scan', region: 'us-east-1' }))).toBe('');
  });
});

describe('a run with nothing to reach', () => {
  it.each(['plan', 'reconcile'])('%s with no targets configured says so and exits 2', async (verb) => {
    const r = await run(verb);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`nothing to ${verb}: no targets are configured`);
    expect(r.err).toContain('no configuration was given');
    process.env.SENSORFLEET_CONFIG = '{"sensor":{"version":"1.35.0-0"}}';
    // with --exit-code too: a configuration error is 2, never 1 ("changes pending")
    const inline = await run(...(verb === 'plan' ? [verb, '--exit-code'] : [verb]));
    expect(inline.code).toBe(2);
    expect(inline.err).toContain('targets.gcp are empty in $SENSORFLEET_CONFIG');
  });
});
