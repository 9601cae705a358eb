import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { discoveryScopes } from '../../shared/engine/discover';
import { ConfigError } from '../../shared/runtime/errors';

const SUB = '0b1f6471-1bf0-4dda-aec3-111122223333';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-3333-4444-555555555555';
const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/sensorfleet/providers/aws';

function problems(input: unknown): string {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('unknown keys are errors with their path', () => {
  it.each([
    [{ rollout: { blastRadiusPct: 5 } }, 'rollout', 'blastRadiusPct'],
    [{ sensor: { verison: '1.35.0-0' } }, 'sensor', 'verison'],
    [{ targets: { aws: [{ accountId: '111122223333', regions: ['eu-west-1'], role: 'x' }] } }, 'targets.aws.0', 'role'],
    [{ targets: { azure: [{ tenantId: TENANT, subscriptionId: SUB, clientId: CLIENT, resourceGroup: 'rg' }] } }, 'targets.azure.0', 'resourceGroup'],
    [{ rollout: { checkInGate: { enable: true } } }, 'rollout.checkInGate', 'enable'],
    [{ qualys: { staleSensors: { olderThan: 10 } } }, 'qualys.staleSensors', 'olderThan'],
    [{ targets: { oci: [] } }, 'targets', 'oci'],
  ])('%j', (input, path, key) => {
    const msg = problems(input);
    expect(msg).toContain(`${path}:`);
    expect(msg).toContain(key);
  });

  it('a misspelt safety setting never falls back to its default', () => {
    expect(() => parseConfig({ rollout: { blastRadiusPct: 5 } })).toThrow(/Unrecognized key.*blastRadiusPct/);
  });
});

describe('targets.azure', () => {
  it('defaults to secretless AWS federation and the public cloud endpoints', () => {
    const c = parseConfig({ targets: { azure: [{ tenantId: TENANT, subscriptionId: SUB, clientId: CLIENT }] } });
    expect(c.targets.azure[0]!.auth).toEqual({ method: 'aws-federation', audience: 'api://AzureADTokenExchange' });
    expect(c.targets.azure[0]!.endpoints).toEqual({ resourceManager: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' });
  });

  it('accepts a client secret or certificate kept in Secrets Manager', () => {
    const c = parseConfig({
      targets: {
        azure: [
          { tenantId: TENANT, subscriptionId: SUB, clientId: CLIENT, auth: { method: 'client-secret', secretId: 'sensorfleet/azure' } },
          { tenantId: TENANT, subscriptionId: SUB, clientId: CLIENT, auth: { method: 'client-certificate', secretId: 'sensorfleet/azure-cert' } },
        ],
      },
    });
    expect(c.targets.azure.map((t) => t.auth.method)).toEqual(['client-secret', 'client-certificate']);
  });

  it('rejects ids that are not GUIDs and unknown auth methods', () => {
    const msg = problems({ targets: { azure: [{ tenantId: 'contoso', subscriptionId: '123', clientId: CLIENT, auth: { method: 'password' } }] } });
    expect(msg).toContain('targets.azure.0.tenantId');
    expect(msg).toContain('targets.azure.0.subscriptionId');
    expect(msg).toContain('targets.azure.0.auth.method');
  });
});

describe('targets.gcp', () => {
  it('takes a workload identity provider and defaults to every location', () => {
    const c = parseConfig({ targets: { gcp: [{ projectId: 'payments-prod', auth: { method: 'aws-federation', workloadIdentityProvider: PROVIDER, serviceAccountEmail: 'sensorfleet@payments-prod.iam.gserviceaccount.com' } }] } });
    expect(c.targets.gcp[0]!.locations).toEqual(['-']);
    expect(c.targets.gcp[0]!.endpoints.container).toBe('https://container.googleapis.com');
  });

  it('rejects a project number where the id belongs, and a malformed provider', () => {
    const msg = problems({ targets: { gcp: [{ projectId: '123456789012', auth: { method: 'aws-federation', workloadIdentityProvider: 'pools/x' } }] } });
    expect(msg).toContain('targets.gcp.0.projectId');
    expect(msg).toContain('targets.gcp.0.auth.workloadIdentityProvider');
  });
});

describe('discovery scopes come from every platform section', () => {
  it('AWS account×region×platform, Azure subscription or resource groups, GCP project×location', () => {
    const c = parseConfig({
      targets: {
        aws: [{ accountId: '111122223333', regions: ['eu-west-1', 'us-east-1'], platforms: ['aws-eks'] }],
        azure: [{ tenantId: TENANT, subscriptionId: SUB.toUpperCase(), clientId: CLIENT, resourceGroups: ['rg-a', 'rg-b'] }],
        gcp: [{ projectId: 'payments-prod', locations: ['europe-west1', 'us-central1-a'], auth: { method: 'credential-file', secretId: 'sensorfleet/gcp' } }],
      },
    });
    expect(discoveryScopes(c)).toEqual([
      { platform: 'aws-eks', scope: '111122223333', location: 'eu-west-1' },
      { platform: 'aws-eks', scope: '111122223333', location: 'us-east-1' },
      { platform: 'azure-aks', scope: SUB, location: 'rg-a' },
      { platform: 'azure-aks', scope: SUB, location: 'rg-b' },
      { platform: 'gcp-gke', scope: 'payments-prod', location: 'europe-west1' },
      { platform: 'gcp-gke', scope: 'payments-prod', location: 'us-central1-a' },
    ]);
  });
});
