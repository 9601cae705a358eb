import { describe, expect, it } from 'vitest';
import { formatClusterRef, parseClusterRef } from '../../shared/domain/cluster-ref';
import { parseConfig } from '../../shared/config/load';
import { ConfigError } from '../../shared/runtime/errors';

describe('cluster references', () => {
  it.each([
    'aws-ecs:123456789012:us-east-1:prod',
    'aws-eks:123456789012:eu-west-1:payments-1',
    'azure-aks:0b1f6471-1bf0-4dda-aec3-111122223333:rg-prod:aks1',
    'gcp-gke:my-project:us-central1-a:gke-1',
  ])('round-trips %s', (text) => {
    expect(formatClusterRef(parseClusterRef(text))).toBe(text);
  });

  it.each([
    ['aws-ecs:123:us-east-1', 'must have 4 parts'],
    ['k8s:1:2:3', 'unknown platform "k8s"'],
    ['aws-eks:123456789012:us-east-1:bad name', 'invalid name'],
  ])('rejects %s with a clear reason', (text, reason) => {
    expect(() => parseClusterRef(text)).toThrow(reason);
  });
});

describe('configuration', () => {
  it('fills DESIGN §5 defaults', () => {
    const c = parseConfig({});
    expect(c.sensor.namespace).toBe('qualys-sensor');
    expect(c.sensor.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '500m', memory: '1Gi' } });
    expect(c.sensor.containerRuntime).toBe('containerd');
    expect(c.sensor.ecs.minimumHealthyPercent).toBeGreaterThan(0);
    expect(c.skipTag).toEqual({ key: 'qualys-sensor', value: 'disabled' });
  });

  it('lists every problem with its path', () => {
    const bad = () =>
      parseConfig({
        sensor: { ecs: { minimumHealthyPercent: 0 }, resources: { requests: { cpu: 'lots', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
        targets: { aws: [{ accountId: '12', regions: [] }] },
      });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('sensor.ecs.minimumHealthyPercent');
      expect(msg).toContain('sensor.resources.requests.cpu');
      expect(msg).toContain('targets.aws.0.accountId');
      expect(msg).toContain('targets.aws.0.regions');
    }
  });
});

describe('configuration sources', () => {
  it('CLI: a YAML file, then environment overrides from the deployment', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { loadCliConfig } = await import('../../shared/cli/config-file');
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'sensorfleet.yaml');
    writeFileSync(file, 'sensor:\n  version: 1.33.2-0\ntargets:\n  aws:\n    - accountId: "111122223333"\n      regions: [eu-west-1]\n');
    const c = loadCliConfig(file, { SENSORFLEET_TABLE: 'fleet-prod' });
    expect(c.sensor.version).toBe('1.33.2-0');
    expect(c.targets.aws[0]!.regions).toEqual(['eu-west-1']);
    expect(c.state.tableName).toBe('fleet-prod');
    expect(() => loadCliConfig(join(tmpdir(), 'missing.yaml'), {})).toThrow(/cannot read configuration/);
  });

  it('functions: inline JSON, with a clear error when it is not JSON', async () => {
    const { loadConfig } = await import('../../shared/config/load');
    expect(loadConfig({ SENSORFLEET_CONFIG: '{"sensor":{"version":"1.35.0-0"}}' }).sensor.version).toBe('1.35.0-0');
    expect(() => loadConfig({ SENSORFLEET_CONFIG: '{sensor:' })).toThrow(/SENSORFLEET_CONFIG is not valid JSON/);
  });
});
