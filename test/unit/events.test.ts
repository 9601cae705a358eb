import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterEventSchema } from '../../shared/domain/cluster-event';
import { MalformedEventError } from '../../shared/events/errors';
import { normalizeEvent, normalizeRecords } from '../../shared/events/normalize';
import { clusterFromTags } from '../../shared/events/resolve-asg';

/**
 * Event normalisation, table-driven over the public samples (../shared/reference/events, untouched)
 * and over events/ (the same samples wrapped in the envelope the Lambda really receives).
 */
const REF = 'test/fixtures/events/reference';
const ref = (f: string) => readFileSync(join(REF, f), 'utf8');
const fixture = (f: string) => readFileSync(join('events', f), 'utf8');
/** The AWS documentation's EKS CreateCluster record says "region-code" where a real one names its region. */
const eksCreateRecord = () => ref('aws-cloudtrail-record-eks-createcluster.json').replaceAll('region-code', 'us-west-2');
const NOW = () => new Date('2030-01-01T00:00:00.000Z');
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');

type Expected = { id: string; kind: string; cluster: string };
const pick = (payload: unknown) => normalizeEvent(payload, { now: NOW }).events.map((e) => ({ id: e.id, kind: e.kind, cluster: e.cluster }));

describe('samples that are cluster events', () => {
  const cases: [string, string, Expected[]][] = [
    ['reference: bare CloudTrail ECS CreateCluster', ref('aws-cloudtrail-record-ecs-createcluster.json'), [{ id: 'aws-cloudtrail:e3c6f4ce-EXAMPLE', kind: 'cluster-created', cluster: 'aws-ecs:123456789012:us-east-1:default' }]],
    ['reference: bare CloudTrail EKS CreateCluster (clusterName form)', eksCreateRecord(), [{ id: 'aws-cloudtrail:eab22523-174a-499c-9dd6-91e7be3ff8e3', kind: 'cluster-created', cluster: 'aws-eks:111122223333:us-west-2:test' }]],
    ['reference: ECS Container Instance State Change', ref('aws-ecs-container-instance-state-change.json'), [{ id: 'aws-eventbridge:8952ba83-7be2-4ab5-9c32-6687532d15a2', kind: 'nodes-changed', cluster: 'aws-ecs:111122223333:us-east-1:default' }]],
    ['reference: GKE CreateCluster LogEntry (v1beta1)', ref('gcp-auditlog-gke-createcluster-logentry.json'), [{ id: 'gcp-audit:6dqtvadkv96', kind: 'cluster-created', cluster: 'gcp-gke:sccfindings29396:us-east1-d:gke' }]],
    ['EventBridge ECS CreateCluster', fixture('aws/eventbridge-ecs-createcluster.json'), [{ id: 'aws-cloudtrail:e3c6f4ce-EXAMPLE', kind: 'cluster-created', cluster: 'aws-ecs:123456789012:us-east-1:default' }]],
    ['EventBridge ECS DeleteCluster (cluster given as ARN)', fixture('aws/eventbridge-ecs-deletecluster.json'), [{ id: 'aws-cloudtrail:f4d7a5df-EXAMPLE', kind: 'cluster-deleted', cluster: 'aws-ecs:123456789012:us-east-1:default' }]],
    ['EventBridge EKS CreateCluster', fixture('aws/eventbridge-eks-createcluster.json'), [{ id: 'aws-cloudtrail:eab22523-174a-499c-9dd6-91e7be3ff8e3', kind: 'cluster-created', cluster: 'aws-eks:111122223333:us-west-2:test' }]],
    ['EventBridge EKS CreateNodegroup (name form)', fixture('aws/eventbridge-eks-createnodegroup.json'), [{ id: 'aws-cloudtrail:9b0c1d2e-3f40-4a51-8b62-7c83d94ea504', kind: 'nodes-changed', cluster: 'aws-eks:111122223333:us-west-2:prod-web' }]],
    ['EventBridge EKS UpdateNodegroupConfig', fixture('aws/eventbridge-eks-updatenodegroupconfig.json'), [{ id: 'aws-cloudtrail:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c06', kind: 'nodes-changed', cluster: 'aws-eks:111122223333:us-west-2:prod-web' }]],
    ['EventBridge EKS DeleteCluster', fixture('aws/eventbridge-eks-deletecluster.json'), [{ id: 'aws-cloudtrail:3c4d5e6f-7081-4923-8a4b-5c6d7e8f9a08', kind: 'cluster-deleted', cluster: 'aws-eks:111122223333:us-west-2:prod-web' }]],
    ['Pub/Sub push: GKE CreateCluster audit log', fixture('gcp/pubsub-push-auditlog-createcluster.json'), [{ id: 'gcp-pubsub:7185632113041829', kind: 'cluster-created', cluster: 'gcp-gke:sccfindings29396:us-east1-d:gke' }]],
    ['Pub/Sub push: GKE SetNodePoolSize (v1, locations)', fixture('gcp/pubsub-push-auditlog-setnodepoolsize.json'), [{ id: 'gcp-pubsub:7185632113041830', kind: 'nodes-changed', cluster: 'gcp-gke:sccfindings29396:us-east1-d:gke' }]],
    ['Pub/Sub push: GKE UpgradeEvent NODE_POOL (project number kept)', fixture('gcp/pubsub-push-gke-upgrade-nodepool.json'), [{ id: 'gcp-pubsub:9800598855834433', kind: 'nodes-changed', cluster: 'gcp-gke:0123456789:us-central1:test-cluster' }]],
    ['Event Grid array: AKS ResourceWriteSuccess', fixture('azure/eventgrid-aks-resourcewritesuccess.json'), [{ id: 'azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f7', kind: 'cluster-created', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' }]],
    [
      'Event Grid array: agent pool write, delete, NodePoolRollingStarted, NewKubernetesVersionAvailable, validation',
      fixture('azure/eventgrid-aks-mixed-batch.json'),
      [
        { id: 'azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f8', kind: 'nodes-changed', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' },
        { id: 'azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f9', kind: 'cluster-deleted', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' },
        { id: 'azure-eventgrid:a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', kind: 'nodes-changed', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' },
      ],
    ],
    ['CloudEvent (single): AKS ResourceWriteSuccess', fixture('azure/cloudevent-aks-resourcewritesuccess.json'), [{ id: 'azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f7', kind: 'cluster-created', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' }]],
    [
      'CloudEvents batch',
      fixture('azure/cloudevents-aks-batch.json'),
      [
        { id: 'azure-eventgrid:4db48cba-50a2-455a-93b4-de41a3b5b7f8', kind: 'nodes-changed', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' },
        { id: 'azure-eventgrid:a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', kind: 'nodes-changed', cluster: 'azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod' },
      ],
    ],
  ];
  it('the documentation sample as printed (region "region-code") is refused with the reason, not turned into a cluster', () => {
    expect(() => normalizeEvent(ref('aws-cloudtrail-record-eks-createcluster.json'))).toThrow(/not a cluster reference.*region-code/);
  });

  it.each(cases)('%s', (_name, payload, expected) => {
    const events = normalizeEvent(payload, { now: NOW }).events;
    expect(events.map((e) => ({ id: e.id, kind: e.kind, cluster: e.cluster }))).toEqual(expected);
    for (const e of events) expect(clusterEventSchema.parse(e)).toEqual(e);
  });

  it('keeps only what the worker needs in detail (no user identity, no claims)', () => {
    const [eks] = normalizeEvent(fixture('aws/eventbridge-eks-createcluster.json')).events;
    expect(eks!.detail).toEqual({ eventName: 'CreateCluster', status: 'CREATING', envelopeId: '0c9a7c1e-5b0f-4f4e-8d2a-6c3b9e1f4a02' });
    const [aks] = normalizeEvent(fixture('azure/eventgrid-aks-resourcewritesuccess.json')).events;
    expect(aks!.detail).toEqual({ eventType: 'Microsoft.Resources.ResourceWriteSuccess', operationName: 'Microsoft.ContainerService/managedClusters/write', status: 'Succeeded' });
    const text = JSON.stringify(normalizeEvent(fixture('azure/eventgrid-aks-mixed-batch.json')).events);
    expect(text).not.toMatch(/claims|authorization|userIdentity|principal/i);
    expect(aks!.time).toBe('2018-07-19T18:38:04.611Z');
  });

  it('maps GKE notification project numbers to project ids when configured', () => {
    const events = normalizeEvent(fixture('gcp/pubsub-push-gke-upgrade-nodepool.json'), { gcpProjectIds: { '0123456789': 'shop-prod' } }).events;
    expect(events.map((e) => e.cluster)).toEqual(['gcp-gke:shop-prod:us-central1:test-cluster']);
    expect(events[0]!.detail.projectNumber).toBeUndefined();
    expect(normalizeEvent(fixture('gcp/pubsub-push-gke-upgrade-nodepool.json')).events[0]!.detail.projectNumber).toBe('0123456789');
  });
});

describe('ASG launches', () => {
  it('become a pending resolution, not an event', () => {
    const out = normalizeEvent(ref('aws-autoscaling-ec2-instance-launch-successful.json'), { now: NOW });
    expect(out.events).toEqual([]);
    expect(out.pending).toEqual([
      {
        id: 'aws-eventbridge:12345678-1234-1234-1234-123456789012',
        time: '2030-01-01T00:00:00.000Z', // the doc sample's time is a placeholder
        source: 'autoscaling.EC2InstanceLaunchSuccessful',
        asgName: 'my-auto-scaling-group',
        instanceId: 'i-1234567890abcdef0',
        account: '123456789012',
        region: 'us-west-2',
      },
    ]);
  });

  it.each([
    ['eks:cluster-name', [{ Key: 'eks:cluster-name', Value: 'prod-web' }], 'aws-eks:1:us-west-2:prod-web'],
    ['kubernetes.io/cluster/<name>=owned', [{ Key: 'Name', Value: 'x' }, { Key: 'kubernetes.io/cluster/batch', Value: 'owned' }], 'aws-eks:1:us-west-2:batch'],
    ['kubernetes.io/cluster/<name>=shared is not ownership', [{ Key: 'kubernetes.io/cluster/batch', Value: 'shared' }], undefined],
    ['AmazonECSManaged + sensorfleet:ecs-cluster', [{ Key: 'AmazonECSManaged', Value: '' }, { Key: 'sensorfleet:ecs-cluster', Value: 'payments' }], 'aws-ecs:1:us-west-2:payments'],
    ['sensorfleet:ecs-cluster without AmazonECSManaged', [{ Key: 'sensorfleet:ecs-cluster', Value: 'payments' }], undefined],
    ['no cluster tag', [{ Key: 'team', Value: 'web' }], undefined],
  ])('cluster from ASG tags: %s', (_n, tags, expected) => {
    const ref = clusterFromTags(tags, { account: '1', region: 'us-west-2' });
    expect(ref ? `${ref.platform}:${ref.scope}:${ref.location}:${ref.name}` : undefined).toBe(expected);
  });
});

describe('payloads that are not cluster events', () => {
  it.each([
    ['S3 CreateBucket via CloudTrail', ref('aws-eventbridge-cloudtrail-envelope-s3-createbucket.json')],
    ['Scheduled Event', ref('aws-events-scheduled-event.json')],
    ['Event Grid ResourceWriteSuccess of a storage account', ref('azure-eventgrid-resourcewritesuccess-eventgridschema.json')],
    ['AKS NewKubernetesVersionAvailable', ref('azure-aks-newkubernetesversionavailable-eventgridschema.json')],
    ['SubscriptionValidationEvent', ref('azure-eventgrid-subscriptionvalidationevent.json')],
    ['Pub/Sub hello world', ref('gcp-pubsub-push-body-docs-edited.json')],
    ['GKE UpgradeEvent MASTER (bare message)', ref('gcp-gke-notification-upgradeevent-controlplane-message.json')],
    ['GKE UpgradeEvent MASTER (push body)', fixture('gcp/pubsub-push-gke-upgrade-controlplane.json')],
    ['a failed CreateCluster call (errorCode)', fixture('aws/eventbridge-eks-createcluster-denied.json')],
    ['an empty Event Grid array', '[]'],
    ['ECS RunTask via CloudTrail', JSON.stringify({ ...JSON.parse(fixture('aws/eventbridge-ecs-createcluster.json')), detail: { ...JSON.parse(fixture('aws/eventbridge-ecs-createcluster.json')).detail, eventName: 'RunTask' } })],
    ['GKE audit completion entry (operation.last)', JSON.stringify({ ...JSON.parse(ref('gcp-auditlog-gke-createcluster-logentry.json')), operation: { id: 'op', last: true } })],
    ['GKE UpgradeAvailableEvent', JSON.stringify({ message: { messageId: '1', data: b64('x'), attributes: { type_url: 'type.googleapis.com/google.container.v1beta1.UpgradeAvailableEvent', cluster_name: 'c', cluster_location: 'l', project_id: '1', payload: '{"resourceType":"NODE_POOL"}' } }, subscription: 's' })],
  ])('%s -> []', (_name, payload) => {
    expect(normalizeEvent(payload, { now: NOW })).toEqual({ events: [], pending: [] });
  });
});

describe('malformed input', () => {
  const ebCreate = JSON.parse(fixture('aws/eventbridge-eks-createcluster.json'));
  it.each([
    ['not JSON', 'this is not json', /payload is not JSON/],
    ['unknown JSON shape', '{"hello":"world"}', /unrecognised payload/],
    ['a JSON string', '"text"', /expected a JSON object/],
    ['EventBridge envelope without detail', JSON.stringify({ ...ebCreate, detail: undefined }), /EventBridge event: detail/],
    ['EventBridge envelope without region', JSON.stringify({ ...ebCreate, region: undefined }), /region/],
    ['ASG launch with no account in envelope or resources', JSON.stringify({ ...JSON.parse(ref('aws-autoscaling-ec2-instance-launch-successful.json')), account: undefined }), /no account/],
    ['CloudTrail EKS CreateCluster without a name', JSON.stringify({ ...ebCreate, detail: { ...ebCreate.detail, requestParameters: {}, responseElements: {} } }), /no cluster name/],
    ['CloudTrail record without eventID', JSON.stringify({ ...ebCreate.detail, eventID: undefined }), /eventID/],
    ['ECS state change without clusterArn', JSON.stringify({ ...JSON.parse(ref('aws-ecs-container-instance-state-change.json')), detail: { status: 'ACTIVE' } }), /clusterArn/],
    ['ASG launch without group name', JSON.stringify({ ...JSON.parse(ref('aws-autoscaling-ec2-instance-launch-successful.json')), detail: {} }), /AutoScalingGroupName/],
    ['Pub/Sub data that is not base64', JSON.stringify({ message: { data: '***not base64***', messageId: '42' }, subscription: 's' }), /not valid base64/],
    ['Pub/Sub message without messageId', JSON.stringify({ message: { data: b64('{}') }, subscription: 's' }), /messageId/],
    ['GKE audit log with a bad resourceName', JSON.stringify({ ...JSON.parse(ref('gcp-auditlog-gke-createcluster-logentry.json')), protoPayload: { ...JSON.parse(ref('gcp-auditlog-gke-createcluster-logentry.json')).protoPayload, resourceName: 'projects/p/clusters' } }), /resourceName/],
    ['GKE notification missing cluster_name', JSON.stringify({ message: { messageId: '1', attributes: { type_url: 'type.googleapis.com/google.container.v1beta1.UpgradeEvent', project_id: '1', cluster_location: 'l' } } }), /cluster_name/],
    ['AKS system event with placeholder topic (doc sample)', ref('azure-aks-nodepoolrollingstarted-eventgridschema.json'), /not a cluster reference/],
    ['CloudEvent without source', JSON.stringify({ specversion: '1.0', id: 'x', type: 'Microsoft.Resources.ResourceWriteSuccess' }), /CloudEvent: source/],
  ])('%s -> MalformedEventError', (_name, payload, reason) => {
    let caught: unknown;
    try {
      normalizeEvent(payload);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MalformedEventError);
    expect((caught as MalformedEventError).reason).toMatch(reason);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('batches report per record', () => {
  it('SQS: the reference sample bodies are not JSON; each record fails alone with its messageId', () => {
    const records = normalizeRecords(ref('aws-lambda-sqs-event.json'));
    expect(records.map((r) => [r.id, r.error?.reason])).toEqual([
      ['059f36b4-87a3-44ab-83d2-661975830a7d', 'payload is not JSON'],
      ['2e1424d4-f796-459a-8184-9c92662be6da', 'payload is not JSON'],
    ]);
  });

  it('SQS: records holding EventBridge events are normalised one by one; a bad one does not hide the good one', () => {
    const sqs = JSON.parse(fixture('aws/sqs-eventbridge-records.json'));
    expect(pick(sqs)).toEqual([
      { id: 'aws-eventbridge:8952ba83-7be2-4ab5-9c32-6687532d15a2', kind: 'nodes-changed', cluster: 'aws-ecs:111122223333:us-east-1:default' },
      { id: 'aws-cloudtrail:eab22523-174a-499c-9dd6-91e7be3ff8e3', kind: 'cluster-created', cluster: 'aws-eks:111122223333:us-west-2:test' },
    ]);
    sqs.Records[0].body = '{"detail-type":"AWS API Call via CloudTrail","source":"aws.eks"}';
    const records = normalizeRecords(sqs);
    expect(records[0]!.error).toBeInstanceOf(MalformedEventError);
    expect(records[0]!.error!.recordId).toBe('059f36b4-87a3-44ab-83d2-661975830a7d');
    expect(records[1]!.events.map((e) => e.cluster)).toEqual(['aws-eks:111122223333:us-west-2:test']);
  });

  it('Event Grid: a malformed element fails alone', () => {
    const batch = JSON.parse(fixture('azure/eventgrid-aks-mixed-batch.json'));
    batch.splice(1, 0, { id: 'broken', topic: '/x' });
    const records = normalizeRecords(batch);
    expect(records.map((r) => (r.error ? `error:${r.id}` : r.events.length))).toEqual([1, 'error:broken', 1, 1, 0, 0]);
  });
});

describe('event ids', () => {
  it('the same event delivered twice gets the same id, whatever envelope carries it', () => {
    const bare = normalizeEvent(eksCreateRecord()).events[0]!;
    const viaEventBridge = normalizeEvent(fixture('aws/eventbridge-eks-createcluster.json')).events[0]!;
    const viaSqs = normalizeEvent(fixture('aws/sqs-eventbridge-records.json')).events[1]!;
    expect(new Set([bare.id, viaEventBridge.id, viaSqs.id])).toEqual(new Set(['aws-cloudtrail:eab22523-174a-499c-9dd6-91e7be3ff8e3']));
    for (const f of ['gcp/pubsub-push-auditlog-createcluster.json', 'azure/eventgrid-aks-mixed-batch.json', 'aws/eventbridge-eks-updatenodegroupconfig.json']) {
      expect(normalizeEvent(fixture(f), { now: NOW })).toEqual(normalizeEvent(fixture(f), { now: () => new Date() }));
    }
  });

  it('accepts a webhook body inside a Lambda Function URL request', () => {
    const request = JSON.parse(ref('aws-lambda-function-url-event.json'));
    request.body = Buffer.from(fixture('azure/eventgrid-aks-resourcewritesuccess.json')).toString('base64');
    request.isBase64Encoded = true;
    expect(pick(request).map((e) => e.cluster)).toEqual(['azure-aks:8f3a9c2e-1b4d-4e5f-a6b7-c8d9e0f1a2b3:rg-platform:aks-prod']);
  });
});
