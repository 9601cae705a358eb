import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../shared/events/normalize';
import { gcpProjectIdsByNumber, gcpTargetSchema, providerAudience } from '../../shared/platforms/gke/config';

/**
 * GKE cluster notifications name the project by NUMBER; the ref must hold the project id, so one
 * cluster is one inventory item whichever event or run named it.
 */
const notification = JSON.parse(readFileSync('events/gcp/pubsub-push-gke-upgrade-nodepool.json', 'utf8')) as { message: { attributes: Record<string, string> } };
const auditLog = JSON.parse(readFileSync('events/gcp/pubsub-push-auditlog-setnodepoolsize.json', 'utf8')) as { message: { data: string } };
const provider = 'projects/884512937162/locations/global/workloadIdentityPools/sensorfleet/providers/aws';
const target = (projectId: string, projectNumber?: string) =>
  gcpTargetSchema.parse({ projectId, ...(projectNumber ? { projectNumber } : {}), auth: { method: 'aws-federation', workloadIdentityProvider: provider } });

function withPayloadResource(resource: string): unknown {
  const copy = structuredClone(notification);
  const payload = JSON.parse(copy.message.attributes.payload!);
  copy.message.attributes.payload = JSON.stringify({ ...payload, resource });
  return copy;
}

describe('project number -> project id', () => {
  it('builds the map from the configured pairs only', () => {
    expect(gcpProjectIdsByNumber([target('shop-prod', '0123456789'), target('no-number-here')])).toEqual({ '0123456789': 'shop-prod' });
  });

  it('a notification of a configured number becomes the ref with the id', () => {
    const gcpProjectIds = gcpProjectIdsByNumber([target('shop-prod', '0123456789')]);
    const [e] = normalizeEvent(notification, { gcpProjectIds }).events;
    expect(e!.cluster).toBe('gcp-gke:shop-prod:us-central1:test-cluster');
    expect(e!.detail.projectNumber).toBeUndefined();
  });

  it('without a configured pair the payload\'s resource path gives the id when it names one', () => {
    const [e] = normalizeEvent(withPayloadResource('projects/shop-prod/locations/us-central1/clusters/test-cluster/nodePools/default-pool')).events;
    expect(e!.cluster).toBe('gcp-gke:shop-prod:us-central1:test-cluster');
    expect(e!.detail.projectNumber).toBeUndefined();
  });

  it('a number nothing maps stays visible as the number (the adapter then refuses it with the id to use)', () => {
    const [e] = normalizeEvent(withPayloadResource('projects/0123456789/locations/us-central1/clusters/test-cluster/nodePools/default-pool')).events;
    expect(e!.cluster).toBe('gcp-gke:0123456789:us-central1:test-cluster');
    expect(e!.detail.projectNumber).toBe('0123456789');
  });

  it('the configured pair wins over the resource path', () => {
    const [e] = normalizeEvent(withPayloadResource('projects/other-id/locations/us-central1/clusters/test-cluster/nodePools/p'), { gcpProjectIds: { '0123456789': 'shop-prod' } }).events;
    expect(e!.cluster).toBe('gcp-gke:shop-prod:us-central1:test-cluster');
  });

  it('an audit log entry that names the project by number maps it too; one naming the id is unchanged', () => {
    const entry = JSON.parse(Buffer.from(auditLog.message.data, 'base64').toString('utf8')) as { protoPayload: { resourceName: string } };
    const [, project] = /^projects\/([^/]+)\//.exec(entry.protoPayload.resourceName)!;
    const byNumber = structuredClone(entry);
    byNumber.protoPayload.resourceName = entry.protoPayload.resourceName.replace(`projects/${project}/`, 'projects/0123456789/');
    const [mapped] = normalizeEvent(byNumber, { gcpProjectIds: { '0123456789': project! } }).events;
    const [plain] = normalizeEvent(entry).events;
    expect(mapped!.cluster).toBe(plain!.cluster);
    expect(plain!.cluster.split(':')[1]).toBe(project);
  });
});

describe('GCP target config', () => {
  it('autopilotAllowlist is false or the WorkloadAllowlist name, with a message that says so', () => {
    expect(target('shop-prod').autopilotAllowlist).toBe(false);
    expect(gcpTargetSchema.parse({ ...target('shop-prod'), autopilotAllowlist: { name: 'qualys-qcs-sensor-v1.0.0' } }).autopilotAllowlist).toEqual({ name: 'qualys-qcs-sensor-v1.0.0' });
    const bad = gcpTargetSchema.safeParse({ ...target('shop-prod'), autopilotAllowlist: true });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toContain('{ name: <WorkloadAllowlist name> }');
  });

  it('the default JWT audience is the provider\'s full resource name', () => {
    expect(providerAudience(provider)).toBe(`//iam.googleapis.com/${provider}`);
  });
});
