import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SINK_METHODS } from '../sandbox/pubsub/index';
import { EVENT_GRID_APP_ID, EVENT_GRID_APP_ROLE } from '../../shared/webhooks/config';

/**
 * infra/ checked without providers (none can be downloaded here; `terraform validate` needs them):
 * `terraform fmt -check -recursive`, then every module parsed with @cdktf/hcl2json (HCL -> JSON: blocks
 * are arrays, expressions "${…}" strings) and its structure compared with what the product relies on —
 * the event patterns serverless.yml listens for, the actions the functions call through the member
 * role, the bus policy, the trust relations and the webhook's authentication settings.
 */
type Hcl = Record<string, any>;
const MODULES = ['modules/event-forwarding', 'aws-control-plane', 'aws-member-account', 'azure', 'azure/event-grid', 'gcp'];
const modules: Record<string, { json: Hcl; text: string }> = {};
const yml = parseYaml(readFileSync('serverless.yml', 'utf8')) as Record<string, any>;

beforeAll(async () => {
  for (const m of MODULES) {
    const dir = join('infra', m);
    const files = readdirSync(dir).filter((f) => f.endsWith('.tf') && statSync(join(dir, f)).isFile());
    const merged: Hcl = {};
    let text = '';
    for (const f of files) {
      const source = readFileSync(join(dir, f), 'utf8');
      text += source;
      merge(merged, (await parseHcl(f, source)) as Hcl);
    }
    modules[m] = { json: merged, text };
  }
});

function merge(into: Hcl, from: Hcl): void {
  for (const [k, v] of Object.entries(from)) {
    if (Array.isArray(v)) into[k] = [...(into[k] ?? []), ...v];
    else if (v && typeof v === 'object') merge((into[k] ??= {}), v as Hcl);
    else into[k] = v;
  }
}

const resource = (m: string, type: string, name: string) => modules[m]!.json.resource?.[type]?.[name]?.[0] as Hcl;
const policyDoc = (m: string, name: string) => modules[m]!.json.data?.aws_iam_policy_document?.[name]?.[0] as Hcl;

describe('terraform fmt', () => {
  it('terraform fmt -check -recursive infra passes', () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-recursive', 'infra'], { encoding: 'utf8' });
    expect(r.error, 'terraform is installed').toBeUndefined();
    expect([r.status, r.stdout.trim()]).toEqual([0, '']);
  });
});

describe('every module', () => {
  it.each(MODULES)('%s: pinned providers, typed and described variables, described outputs', (m) => {
    const { json } = modules[m]!;
    const tf = json.terraform?.[0];
    expect(tf?.required_version).toBe('>= 1.11');
    for (const [name, p] of Object.entries(tf?.required_providers?.[0] ?? {}) as [string, { source: string; version: string }][]) {
      expect(p.source, name).toMatch(/^hashicorp\//);
      expect(p.version, name).toMatch(/^>= \d/);
    }
    for (const [name, [v]] of Object.entries(json.variable ?? {}) as [string, Hcl[]][]) {
      expect(v!.description, `variable ${name}`).toBeTruthy();
      expect(v!.type, `variable ${name}`).toBeTruthy();
    }
    for (const [name, [o]] of Object.entries(json.output ?? {}) as [string, Hcl[]][]) expect(o!.description, `output ${name}`).toBeTruthy();
  });
});

describe('event forwarding (member accounts and regions -> the control plane bus)', () => {
  it("forwards exactly the patterns on-aws-event's rules listen for, on the bus serverless.yml creates", () => {
    const patterns = JSON.parse(readFileSync('infra/modules/event-forwarding/patterns.json', 'utf8')) as Record<string, unknown>;
    const listened = (yml.functions['on-aws-event'].events as { eventBridge?: { pattern: unknown; eventBus?: unknown } }[]).filter((e) => e.eventBridge).map((e) => e.eventBridge!);
    expect(Object.values(patterns)).toEqual(listened.map((e) => e.pattern));
    for (const e of listened) expect(e.eventBus).toEqual({ 'Fn::GetAtt': ['EventBus', 'Name'] });
    expect(yml.resources.Resources.EventBus.Type).toBe('AWS::Events::EventBus');
  });

  it("the stack's own region forwards the same patterns from its default bus to EventBus, with a role that may only put events there", () => {
    const resources = yml.resources.Resources as Record<string, { Type: string; Properties: any }>;
    const own = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventBusName === 'default');
    const listened = (yml.functions['on-aws-event'].events as { eventBridge?: { pattern: unknown } }[]).filter((e) => e.eventBridge).map((e) => e.eventBridge!.pattern);
    expect(own.map(([, r]) => r.Properties.EventPattern)).toEqual(listened);
    for (const [id, r] of own) {
      expect(r.Properties.Targets, id).toEqual([{ Id: 'control-plane-bus', Arn: { 'Fn::GetAtt': ['EventBus', 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['OwnRegionForwardingRole', 'Arn'] } }]);
    }
    const role = resources.OwnRegionForwardingRole!.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
    ]);
    expect(role.Policies.flatMap((p: any) => p.PolicyDocument.Statement)).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': ['EventBus', 'Arn'] } }]);
  });

  it('one rule per region and pattern on the default bus, each targeting the bus with the forwarding role', () => {
    const m = 'modules/event-forwarding';
    const rule = resource(m, 'aws_cloudwatch_event_rule', 'forward');
    const target = resource(m, 'aws_cloudwatch_event_target', 'forward');
    expect([rule.for_each, rule.region, rule.event_bus_name, rule.event_pattern]).toEqual(['${local.rules}', '${each.value.region}', 'default', '${jsonencode(local.patterns[each.value.pattern])}']);
    expect(modules[m]!.json.locals[0].patterns).toBe('${jsondecode(file("${path.module}/patterns.json"))}');
    expect([target.arn, target.role_arn]).toEqual(['${var.target_event_bus_arn}', '${aws_iam_role.forwarding.arn}']);
    expect(policyDoc(m, 'put_events').statement[0]).toEqual({ actions: ['events:PutEvents'], resources: ['${var.target_event_bus_arn}'] });
    expect(policyDoc(m, 'trust').statement[0].principals[0]).toEqual({ type: 'Service', identifiers: ['events.amazonaws.com'] });
  });
});

describe('aws-control-plane', () => {
  const m = 'aws-control-plane';
  it('enables outbound identity federation and outputs its issuer', () => {
    expect(resource(m, 'aws_iam_outbound_web_identity_federation', 'this')).toEqual({});
    expect(modules[m]!.json.output.issuer_url[0].value).toBe('${aws_iam_outbound_web_identity_federation.this.issuer_identifier}');
  });

  it('GetWebIdentityToken only for the configured audiences and 15 minutes, as serverless.yml grants it', () => {
    const s = policyDoc(m, 'web_identity').statement[0];
    expect(s.actions).toEqual(['sts:GetWebIdentityToken']);
    expect(s.condition).toEqual([
      { test: 'ForAllValues:StringEquals', variable: 'sts:IdentityTokenAudience', values: '${var.web_identity_audiences}' },
      { test: 'NumericLessThanEquals', variable: 'sts:DurationSeconds', values: ['900'] },
    ]);
    const worker = yml.resources.Resources.ReconcileWorkerRole.Properties.Policies[0].PolicyDocument.Statement.find((x: any) => x.Action === 'sts:GetWebIdentityToken');
    expect(worker.Condition.NumericLessThanEquals).toEqual({ 'sts:DurationSeconds': 900 });
  });

  it('the bus policy admits the configured member accounts (account principals) and/or the organization (aws:PrincipalOrgID), PutEvents on this bus only', () => {
    const [accounts, org] = policyDoc(m, 'bus').dynamic.statement as Hcl[];
    expect(accounts!.for_each).toBe('${length(var.member_account_ids) > 0 ? [1] : []}');
    expect(accounts!.content[0]).toMatchObject({ actions: ['events:PutEvents'], resources: ['${local.bus_arn}'], principals: [{ type: 'AWS', identifiers: '${[for id in var.member_account_ids : "arn:aws:iam::${id}:root"]}' }] });
    expect(org!.content[0]).toMatchObject({ actions: ['events:PutEvents'], resources: ['${local.bus_arn}'], condition: [{ test: 'StringEquals', variable: 'aws:PrincipalOrgID', values: ['${statement.value}'] }] });
    const applied = resource(m, 'aws_cloudwatch_event_bus_policy', 'control_plane');
    expect(applied.event_bus_name).toBe('${var.event_bus_name}');
    expect(applied.lifecycle[0].precondition[0].condition).toBe('${length(var.member_account_ids) > 0 || var.organization_id != null}');
  });
});

describe('aws-member-account', () => {
  const m = 'aws-member-account';
  /** What the functions call in a target account: their serverless.yml actions, less what only the control plane account has. */
  // the stack's own queues, table, logs, workflows, run reports (its bucket) and the calls that reach other accounts or clouds
  const CONTROL_PLANE_ONLY = /^(logs|sqs|dynamodb|states|lambda|events):|^sts:(AssumeRole|GetWebIdentityToken)$|^s3:PutObject$/;
  const viaTargetRole = ['on-aws-event', 'reconcile-worker', 'nightly', 'redeploy'];

  it('the sensorfleet role holds exactly the actions the functions call through it', () => {
    const expected = new Set<string>();
    for (const fn of viaTargetRole) {
      for (const s of yml.resources.Resources[yml.functions[fn].role].Properties.Policies[0].PolicyDocument.Statement) {
        const st = s['Fn::If'] ? s['Fn::If'][1] : s;
        const resources = JSON.stringify(st.Resource);
        if (resources.includes('cloudCredentialsSecretPrefix') || resources.includes('qualysApiSecretName')) continue; // control-plane secrets
        for (const a of [st.Action].flat() as string[]) if (!CONTROL_PLANE_ONLY.test(a)) expected.add(a);
      }
    }
    const doc = policyDoc(m, 'sensorfleet');
    const granted = new Set<string>([...doc.statement, ...doc.dynamic.statement.map((d: Hcl) => d.content[0])].flatMap((s: Hcl) => s.actions));
    expect([...granted].sort()).toEqual([...expected].sort());
  });

  it('is assumable only by the control plane function roles, with the external id', () => {
    const s = policyDoc(m, 'trust').statement[0];
    expect(s.principals).toEqual([{ type: 'AWS', identifiers: '${var.control_plane_role_arns}' }]);
    expect(s.condition).toEqual([{ test: 'StringEquals', variable: 'sts:ExternalId', values: ['${var.external_id}'] }]);
    expect(resource(m, 'aws_iam_role', 'sensorfleet').name).toBe('${var.role_name}');
    expect(modules[m]!.json.variable.role_name[0].default).toBe(yml.custom.targetRoleName.match(/'([^']+)'/)[1]);
  });

  it('the ECS execution role may read the activation secret; the secret exists in each ECS region, its value write-only', () => {
    expect(resource(m, 'aws_iam_role', 'execution').name).toBe('${var.execution_role_name}');
    expect(modules[m]!.json.variable.execution_role_name[0].default).toBe('sensorfleet-qualys-sensor-execution');
    expect(policyDoc(m, 'execution_secret').statement[0].actions).toEqual(['secretsmanager:GetSecretValue']);
    expect(resource(m, 'aws_secretsmanager_secret', 'activation')).toMatchObject({ for_each: '${toset(var.ecs_regions)}', region: '${each.value}', name: '${var.activation_secret_name}' });
    expect(resource(m, 'aws_secretsmanager_secret_version', 'activation').secret_string_wo).toContain('activationId');
    expect(modules[m]!.json.variable.activation[0].sensitive).toBe(true);
  });

  it('EKS: an access entry for the sensorfleet role with AmazonEKSClusterAdminPolicy at cluster scope, and the reason written down', () => {
    expect(resource(m, 'aws_eks_access_entry', 'sensorfleet')).toMatchObject({ principal_arn: '${aws_iam_role.sensorfleet.arn}', type: 'STANDARD' });
    const p = resource(m, 'aws_eks_access_policy_association', 'sensorfleet');
    expect([p.policy_arn, p.access_scope[0].type]).toEqual(['arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', 'cluster']);
    expect(modules[m]!.text).toMatch(/Why AmazonEKSClusterAdminPolicy[\s\S]*ClusterRole[\s\S]*AmazonEKSAdminPolicy/);
  });

  it('forwards its regions to the control plane bus through the shared module', () => {
    expect(modules[m]!.json.module.forwarding[0]).toMatchObject({ source: '../modules/event-forwarding', regions: '${var.forward_regions}', target_event_bus_arn: '${var.control_plane_event_bus_arn}' });
  });
});

describe('azure', () => {
  const m = 'azure';
  it('the Entra application trusts the AWS issuer with each function role as subject, for the federation audience', () => {
    const fic = resource(m, 'azuread_application_federated_identity_credential', 'aws');
    expect([fic.for_each, fic.issuer, fic.subject, fic.audiences]).toEqual(['${toset(var.function_role_arns)}', '${var.aws_issuer_url}', '${each.value}', ['${var.federation_audience}']]);
    expect(modules[m]!.json.variable.federation_audience[0].default).toBe('api://AzureADTokenExchange');
  });

  it('the least ARM actions: read clusters and pools, list user credentials, read resource groups (node resource group tags)', () => {
    expect(resource(m, 'azurerm_role_definition', 'cluster_reader').permissions[0].actions).toEqual([
      'Microsoft.ContainerService/managedClusters/read',
      'Microsoft.ContainerService/managedClusters/agentPools/read',
      'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
    ]);
    const data = resource(m, 'azurerm_role_definition', 'sensor_applier').permissions[0].data_actions as string[];
    for (const kind of ['namespaces', 'apps/daemonsets', 'rbac.authorization.k8s.io/clusterroles', 'rbac.authorization.k8s.io/clusterrolebindings', 'secrets', 'serviceaccounts']) {
      expect(data, kind).toContain(`Microsoft.ContainerService/managedClusters/${kind}/write`);
    }
  });

  it("the webhook's application has Event Grid's app role, assigned to Event Grid's service principal", () => {
    const app = resource(m, 'azuread_application', 'webhook');
    expect([app.app_role[0].value, app.app_role[0].allowed_member_types]).toEqual([EVENT_GRID_APP_ROLE, ['Application']]);
    expect(resource(m, 'azuread_service_principal', 'event_grid').client_id).toBe(EVENT_GRID_APP_ID);
    expect(resource(m, 'azuread_app_role_assignment', 'event_grid').principal_object_id).toBe('${azuread_service_principal.event_grid.object_id}');
  });

  it('Event Grid: the subscription system topic, ResourceWrite/DeleteSuccess of AKS resources and VM scale sets, one event per delivery, Entra or a secret header', () => {
    const g = 'azure/event-grid';
    expect(resource(g, 'azurerm_eventgrid_system_topic', 'subscription').topic_type).toBe('Microsoft.Resources.Subscriptions');
    const sub = resource(g, 'azurerm_eventgrid_system_topic_event_subscription', 'clusters');
    expect(sub.included_event_types).toEqual(['Microsoft.Resources.ResourceWriteSuccess', 'Microsoft.Resources.ResourceDeleteSuccess']);
    expect(sub.advanced_filter[0].string_contains[0].values).toEqual(['/providers/Microsoft.ContainerService/managedClusters/', '/providers/Microsoft.Compute/virtualMachineScaleSets/']);
    expect(sub.webhook_endpoint[0]).toMatchObject({ max_events_per_batch: 1, active_directory_app_id_or_uri: '${local.entra ? var.webhook_identifier_uri : null}' });
    expect(sub.dynamic.delivery_property[0].content[0]).toMatchObject({ type: 'Static', secret: true });
    const aks = resource(g, 'azurerm_eventgrid_system_topic_event_subscription', 'cluster_events');
    expect(aks.included_event_types).toContain('Microsoft.ContainerService.NodePoolRollingSucceeded');
  });
});

describe('gcp', () => {
  const m = 'gcp';
  it('the pool provider trusts the AWS issuer for the function roles only; they may impersonate the service account', () => {
    const p = resource(m, 'google_iam_workload_identity_pool_provider', 'aws');
    expect(p.oidc[0].issuer_uri).toBe('${var.aws_issuer_url}');
    expect(p.attribute_mapping['google.subject']).toBe('assertion.sub');
    expect(p.attribute_condition).toContain('assertion.sub in [');
    expect(resource(m, 'google_service_account_iam_member', 'workload_identity').role).toBe('roles/iam.workloadIdentityUser');
  });

  it('the log sink filter names every method on-webhook acts on, as the sandbox sink routes them', () => {
    const filter = modules[m]!.json.locals[0].sink_filter as string;
    for (const method of ['CreateCluster', 'DeleteCluster', 'UpdateCluster', 'CreateNodePool', 'SetNodePoolSize', 'SetNodePoolAutoscaling']) {
      expect(filter).toContain(method);
      expect(SINK_METHODS.test(`google.container.v1.ClusterManager.${method}`) && SINK_METHODS.test(`google.container.v1beta1.ClusterManager.${method}`)).toBe(true);
    }
    expect(filter).toContain('container.googleapis.com');
  });

  it('push subscriptions with an OIDC token to the webhook, an ack deadline of the function timeout, and dead letters', () => {
    const s = resource(m, 'google_pubsub_subscription', 'push');
    expect(s.push_config[0].oidc_token[0]).toEqual({ service_account_email: '${google_service_account.push.email}', audience: '${local.push_audience}' });
    expect(s.ack_deadline_seconds).toBe(yml.functions['on-webhook'].timeout);
    expect(s.dead_letter_policy[0].max_delivery_attempts).toBe(10);
    expect(s.for_each).toEqual({ audit: '${google_pubsub_topic.audit.id}', notifications: '${google_pubsub_topic.notifications.id}' });
  });
});
