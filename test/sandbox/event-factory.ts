import { randomUUID } from 'node:crypto';

/**
 * Real-shaped EventBridge events for the sandbox fleet, built like the samples in
 * ../shared/reference/events (CloudTrail records in the `AWS API Call via CloudTrail` envelope,
 * `ECS Container Instance State Change`), with the sandbox's account, region and names.
 */
interface Where {
  account: string;
  region: string;
}

function envelope(w: Where, source: string, detailType: string, detail: Record<string, unknown>, resources: string[] = []) {
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { version: '0', id: randomUUID(), 'detail-type': detailType, source, account: w.account, time, region: w.region, resources, detail };
}

function cloudTrail(w: Where, service: 'ecs' | 'eks', eventName: string, requestParameters: Record<string, unknown>, responseElements: Record<string, unknown>) {
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return envelope(w, `aws.${service}`, 'AWS API Call via CloudTrail', {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROASANDBOXEXAMPLE:platform-engineer',
      arn: `arn:aws:sts::${w.account}:assumed-role/Admin/platform-engineer`,
      accountId: w.account,
      sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${w.account}:role/Admin`, accountId: w.account, userName: 'Admin' } },
    },
    eventTime: time,
    eventSource: `${service}.amazonaws.com`,
    eventName,
    awsRegion: w.region,
    sourceIPAddress: '203.0.113.12',
    userAgent: 'aws-cli/2.15.0',
    requestParameters,
    responseElements,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: w.account,
    eventCategory: 'Management',
  });
}

export function ecsCreateCluster(w: Where, name: string) {
  return cloudTrail(w, 'ecs', 'CreateCluster', { clusterName: name }, {
    cluster: {
      clusterArn: `arn:aws:ecs:${w.region}:${w.account}:cluster/${name}`,
      clusterName: name,
      status: 'ACTIVE',
      registeredContainerInstancesCount: 0,
      runningTasksCount: 0,
      pendingTasksCount: 0,
      activeServicesCount: 0,
      statistics: [],
    },
  });
}

export function eksCreateCluster(w: Where, name: string) {
  return cloudTrail(
    w,
    'eks',
    'CreateCluster',
    { name, version: '1.31', roleArn: `arn:aws:iam::${w.account}:role/eks-cluster`, resourcesVpcConfig: { subnetIds: ['subnet-a670c2df', 'subnet-4f8c5004'] } },
    {
      cluster: {
        name,
        arn: `arn:aws:eks:${w.region}:${w.account}:cluster/${name}`,
        createdAt: Date.now() / 1000,
        version: '1.31',
        status: 'CREATING',
        certificateAuthority: {},
        roleArn: `arn:aws:iam::${w.account}:role/eks-cluster`,
      },
    },
  );
}

export function eksUpdateNodegroupConfig(w: Where, cluster: string, nodegroup: string, desiredSize: number) {
  return cloudTrail(
    w,
    'eks',
    'UpdateNodegroupConfig',
    { name: cluster, nodegroupName: nodegroup, scalingConfig: { desiredSize } },
    { update: { id: randomUUID(), status: 'InProgress', type: 'ConfigUpdate', params: [{ type: 'DesiredSize', value: String(desiredSize) }] } },
  );
}

export function ecsContainerInstanceStateChange(w: Where, cluster: string, containerInstanceArn: string, ec2InstanceId: string, status = 'ACTIVE') {
  return envelope(
    w,
    'aws.ecs',
    'ECS Container Instance State Change',
    {
      agentConnected: true,
      attributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.23' }],
      clusterArn: `arn:aws:ecs:${w.region}:${w.account}:cluster/${cluster}`,
      containerInstanceArn,
      ec2InstanceId,
      registeredResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 3767 },
      ],
      remainingResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
        { name: 'MEMORY', type: 'INTEGER', integerValue: 3767 },
      ],
      status,
      version: 1,
      versionInfo: { agentHash: 'aebcbca', agentVersion: '1.87.0', dockerVersion: 'DockerVersion: 20.10.25' },
      updatedAt: new Date().toISOString(),
    },
    [containerInstanceArn],
  );
}
