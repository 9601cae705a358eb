/**
 * A local Azure Resource Manager serving the Microsoft.ContainerService calls sensorfleet makes, from
 * its own state (https://learn.microsoft.com/rest/api/aks/managed-clusters, .../agent-pools):
 *   GET  /subscriptions/{s}/providers/Microsoft.ContainerService/managedClusters                 list
 *   GET  /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters  listByResourceGroup
 *   GET  …/managedClusters/{name}                                                                  get
 *   POST …/managedClusters/{name}/listClusterUserCredential[?format=exec|azure]                    kubeconfig, base64
 *   POST …/managedClusters/{name}/listClusterAdminCredential                                       (local accounts only)
 *   GET  …/managedClusters/{name}/agentPools[/{pool}]
 * ARM conventions (https://learn.microsoft.com/azure/azure-resource-manager/management/):
 *  - `api-version` is required and checked (MissingApiVersionParameter, InvalidApiVersionParameter,
 *    NoRegisteredProviderFound listing the supported versions);
 *  - lists are paged: `{"value": [...], "nextLink": "<absolute url with $skipToken>"}`; the page size is
 *    small (2) so clients must follow nextLink;
 *  - the bearer token must be an Entra token for ARM's audience, of the subscription's tenant, not
 *    expired (AuthenticationFailed, InvalidAuthenticationToken, ExpiredAuthenticationToken,
 *    InvalidAuthenticationTokenAudience, InvalidAuthenticationTokenTenant), and its principal must
 *    hold a role on the subscription (AuthorizationFailed, 403);
 *  - errors are `{"error": {"code", "message"}}`; throttling is 429 with Retry-After
 *    (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
 * Clusters move through provisioning states over time (Creating -> Succeeded after N ms, Stopping ->
 * Stopped, Deleting -> gone).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ARM_AUDIENCES, type SandboxEntra } from './entra';
import { sendJson, startHttpsServer, type SandboxHttpsServer } from './https';

/** The api-versions this RP "registers" (a subset of the real list), newest being the SDK's default. */
export const SUPPORTED_API_VERSIONS = ['2023-10-01', '2024-05-01', '2024-09-01', '2025-01-01', '2025-05-01', '2025-10-01', '2026-01-01', '2026-04-01', '2026-04-02-preview'];

export interface AgentPoolSpec {
  name: string;
  count: number;
  vmSize: string;
  mode: 'System' | 'User';
  osType: 'Linux' | 'Windows';
  osSKU: string;
  nodeImageVersion: string;
  /** AKS format key=value:Effect */
  nodeTaints: string[];
  nodeLabels: Record<string, string>;
  scaleSetPriority?: 'Spot' | 'Regular';
  maxPods: number;
}

export interface ManagedClusterSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  kubernetesVersion: string;
  /** Entra integration (AKS-managed Entra ID). */
  aad?: { tenantId: string; enableAzureRBAC: boolean; adminGroupObjectIDs: string[] };
  disableLocalAccounts: boolean;
  privateCluster: boolean;
  dnsHash: string;
  agentPools: AgentPoolSpec[];
  /** The user kubeconfig (YAML) in the requested format; `exec` is the default for Entra clusters. */
  userKubeconfig: (format: 'exec' | 'azure' | undefined) => string;
  /** Admin kubeconfig (YAML); undefined when local accounts are disabled. */
  adminKubeconfig?: () => string;
}

interface Phase {
  /** epoch ms from which this phase applies */
  at: number;
  provisioningState: string;
  powerState: 'Running' | 'Stopped';
  gone?: boolean;
}

export class ManagedClusterRecord {
  provisioningState = 'Succeeded';
  powerState: 'Running' | 'Stopped' = 'Running';
  provisioningError?: { code: string; message: string };
  gone = false;
  /** Changes whenever the resource changes (ARM optimistic concurrency). */
  eTag = randomUUID();
  private phases: Phase[] = [];
  /** Told each phase as it is reached (timers move the record on time, so it need not be read first). */
  onPhase?: (p: Phase) => void;

  constructor(readonly spec: ManagedClusterSpec) {}

  get id(): string {
    return `/subscriptions/${this.spec.subscriptionId}/resourcegroups/${this.spec.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${this.spec.name}`;
  }

  /** Now `state`, then (optionally) `then` from `forMs` later. */
  schedule(now: Phase, then?: Phase): void {
    this.phases = [now, ...(then ? [then] : [])];
    this.touch();
    this.advance();
    // a timer may fire a millisecond before Date.now() reaches `then.at` (monotonic vs wall clock): advance to it
    if (then) setTimeout(() => this.advance(Math.max(Date.now(), then.at)), Math.max(0, then.at - Date.now())).unref();
  }

  /** The resource changed (an operation ran). */
  touch(): void {
    this.eTag = randomUUID();
  }

  advance(at = Date.now()): void {
    while (this.phases.length && this.phases[0]!.at <= at) {
      const p = this.phases.shift()!;
      this.provisioningState = p.provisioningState;
      this.powerState = p.powerState;
      if (p.gone) this.gone = true;
      this.touch();
      this.onPhase?.(p);
      if (p.provisioningState !== 'Failed') this.provisioningError = undefined;
    }
  }
}

export interface ArmRequest {
  method: string;
  path: string;
  apiVersion?: string;
  operation: string;
  status: number;
  code?: string;
}

export interface ArmFaults {
  /** The next `count` requests are throttled: 429 + Retry-After. */
  throttle?: { count: number; retryAfterSeconds: number };
  /** The next `count` requests answer `status` (5xx). */
  failNext?: { count: number; status: number };
  latencyMs?: number;
}

interface Subscription {
  id: string;
  tenantId: string;
  location: string;
  resourceGroups: Map<string, string>;
  /** object ids of principals with a role on the subscription */
  principals: Set<string>;
}

class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class SandboxArm {
  readonly requests: ArmRequest[] = [];
  faults: ArmFaults = {};
  pageSize = 2;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly clusters = new Map<string, ManagedClusterRecord>();
  private readonly writeListeners = new Set<(w: ArmWrite) => void>();

  private constructor(
    private readonly server: SandboxHttpsServer,
    private readonly entra: SandboxEntra,
  ) {}

  static async start(o: { entra: SandboxEntra }): Promise<SandboxArm> {
    let self: SandboxArm | undefined;
    const server = await startHttpsServer((req, res) => self!.handle(req, res));
    self = new SandboxArm(server, o.entra);
    return self;
  }

  get url(): string {
    return this.server.url;
  }

  addSubscription(o: { subscriptionId: string; tenantId: string; location?: string }): void {
    const id = o.subscriptionId.toLowerCase();
    if (!this.subscriptions.has(id)) this.subscriptions.set(id, { id, tenantId: o.tenantId.toLowerCase(), location: o.location ?? 'westeurope', resourceGroups: new Map(), principals: new Set() });
  }

  /** A role assignment (Reader + Azure Kubernetes Service Cluster User Role) for the principal on the subscription. */
  grant(subscriptionId: string, objectId: string): void {
    this.subscription(subscriptionId).principals.add(objectId);
  }

  revoke(subscriptionId: string, objectId: string): void {
    this.subscription(subscriptionId).principals.delete(objectId);
  }

  addResourceGroup(subscriptionId: string, name: string): void {
    const s = this.subscription(subscriptionId);
    if (!s.resourceGroups.has(name.toLowerCase())) s.resourceGroups.set(name.toLowerCase(), name);
  }

  putCluster(spec: ManagedClusterSpec): ManagedClusterRecord {
    this.addResourceGroup(spec.subscriptionId, spec.resourceGroup);
    const rec = new ManagedClusterRecord(spec);
    this.clusters.set(rec.id.toLowerCase(), rec);
    // ARM raises ResourceWriteSuccess / ResourceDeleteSuccess when the operation has succeeded
    rec.onPhase = (p) => {
      if (p.gone) this.emitWrite({ kind: 'delete', resourceId: rec.id, operationName: 'Microsoft.ContainerService/managedClusters/delete' });
      else if (p.provisioningState === 'Succeeded') this.emitWrite({ kind: 'write', resourceId: rec.id, operationName: 'Microsoft.ContainerService/managedClusters/write' });
    };
    setImmediate(() => {
      if (rec.provisioningState === 'Succeeded' && !rec.gone) this.emitWrite({ kind: 'write', resourceId: rec.id, operationName: 'Microsoft.ContainerService/managedClusters/write' });
    });
    return rec;
  }

  /** Listens to completed resource writes and deletes (what Event Grid's subscription topic reports); returns unsubscribe. */
  onWrite(fn: (w: ArmWrite) => void): () => void {
    this.writeListeners.add(fn);
    return () => this.writeListeners.delete(fn);
  }

  /** A completed write of another resource (an agent pool, a node resource group's VM scale set). */
  emitWrite(w: ArmWrite): void {
    for (const fn of [...this.writeListeners]) fn(w);
  }

  cluster(subscriptionId: string, resourceGroup: string, name: string): ManagedClusterRecord | undefined {
    const rec = this.clusters.get(`/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/microsoft.containerservice/managedclusters/${name}`.toLowerCase());
    rec?.advance();
    if (rec?.gone) {
      this.clusters.delete(rec.id.toLowerCase());
      return undefined;
    }
    return rec;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private subscription(id: string): Subscription {
    const s = this.subscriptions.get(id.toLowerCase());
    if (!s) throw new Error(`sandbox ARM: no subscription ${id}`);
    return s;
  }

  // ---- HTTP -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const apiVersion = u.searchParams.get('api-version') ?? undefined;
    const entry: ArmRequest = { method: req.method ?? 'GET', path: u.pathname, ...(apiVersion ? { apiVersion } : {}), operation: operationOf(req.method ?? 'GET', u.pathname), status: 0 };
    this.requests.push(entry);
    // drain the body (POST actions send none, but keep the connection reusable)
    for await (const _ of req) void _;
    const headers = { 'x-ms-request-id': randomUUID(), 'x-ms-correlation-request-id': randomUUID() };
    try {
      if (this.faults.latencyMs) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
      const body = RESOURCE_GROUP.test(u.pathname) ? await this.resourceGroup(req, u) : await this.route(req, u);
      entry.status = 200;
      sendJson(res, 200, body, { ...headers, 'x-ms-ratelimit-remaining-subscription-reads': '11999' });
    } catch (e) {
      const err = e instanceof ArmError ? e : new ArmError(500, 'InternalServerError', `sandbox ARM: ${(e as Error).message}`);
      entry.status = err.status;
      entry.code = err.code;
      sendJson(res, err.status, { error: { code: err.code, message: err.message } }, { ...headers, ...err.headers });
    }
  }

  private async route(req: IncomingMessage, u: URL): Promise<unknown> {
    const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?\/providers\/Microsoft\.ContainerService\/managedClusters(?:\/([^/]+)(?:\/(listClusterUserCredential|listClusterAdminCredential|agentPools)(?:\/([^/]+))?)?)?\/?$/i.exec(u.pathname);
    if (!m) throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found in the namespace 'Microsoft.ContainerService' for api version '${u.searchParams.get('api-version') ?? ''}'.`);
    const [, subId, rg, name, action, pool] = m.map((x) => (x === undefined ? undefined : decodeURIComponent(x)));
    this.checkApiVersion(u.searchParams.get('api-version'), rg && name ? this.cluster(subId!, rg, name)?.spec.location : undefined);
    const sub = this.subscriptions.get(subId!.toLowerCase());
    const principal = await this.authenticate(req, sub, subId!);
    this.takeFaults(subId!, principal.oid);
    if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subId}' could not be found.`);
    const method = req.method ?? 'GET';
    const isAction = action === 'listClusterUserCredential' || action === 'listClusterAdminCredential';
    const wantMethod = isAction ? 'POST' : 'GET';
    if (method !== wantMethod) throw new ArmError(405, 'HttpMethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    const actionName = isAction ? `Microsoft.ContainerService/managedClusters/${action}/action` : action === 'agentPools' ? 'Microsoft.ContainerService/managedClusters/agentPools/read' : 'Microsoft.ContainerService/managedClusters/read';
    if (!sub.principals.has(principal.oid)) {
      const scope = `/subscriptions/${subId}${rg ? `/resourceGroups/${rg}` : ''}${name ? `/providers/Microsoft.ContainerService/managedClusters/${name}` : ''}`;
      throw new ArmError(403, 'AuthorizationFailed', `The client '${principal.appid}' with object id '${principal.oid}' does not have authorization to perform action '${actionName}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`);
    }
    if (rg && !sub.resourceGroups.has(rg.toLowerCase())) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
    if (!name) {
      const all = [...this.clusters.values()]
        .filter((c) => c.spec.subscriptionId.toLowerCase() === sub.id && (!rg || c.spec.resourceGroup.toLowerCase() === rg.toLowerCase()))
        .filter((c) => (c.advance(), !c.gone))
        .sort((a, b) => a.id.localeCompare(b.id));
      return this.page(u, all.map((c) => managedClusterJson(c)));
    }
    const c = this.cluster(subId!, rg!, name);
    if (!c) throw new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    if (!action) return managedClusterJson(c);
    if (action === 'agentPools') {
      if (pool) {
        const p = c.spec.agentPools.find((x) => x.name === pool);
        if (!p) throw new ArmError(404, 'NotFound', `Could not find the agent pool '${pool}' in managed cluster '${name}'.`);
        return agentPoolJson(c, p);
      }
      return this.page(u, c.spec.agentPools.map((p) => agentPoolJson(c, p)));
    }
    if (action === 'listClusterAdminCredential') {
      if (c.spec.disableLocalAccounts || !c.spec.adminKubeconfig) throw new ArmError(400, 'BadRequest', 'Getting static credential is not allowed because this cluster is set to disable local accounts.');
      return { kubeconfigs: [{ name: 'clusterAdmin', value: Buffer.from(c.spec.adminKubeconfig()).toString('base64') }] };
    }
    const format = u.searchParams.get('format') ?? undefined;
    if (format && format !== 'exec' && format !== 'azure') throw new ArmError(400, 'InvalidParameter', `The value '${format}' of parameter 'format' is not valid; allowed values: 'azure', 'exec'.`);
    return { kubeconfigs: [{ name: 'clusterUser', value: Buffer.from(c.spec.userKubeconfig(format as 'exec' | 'azure' | undefined)).toString('base64') }] };
  }

  /**
   * Resource Groups - Get (https://learn.microsoft.com/rest/api/resources/resource-groups/get): a cluster's
   * node resource group carries AKS's aks-managed-cluster-name/-rg tags and managedBy = the cluster's id.
   */
  private async resourceGroup(req: IncomingMessage, u: URL): Promise<unknown> {
    const [, subId, name] = RESOURCE_GROUP.exec(u.pathname)!.map((x) => decodeURIComponent(x));
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(u.searchParams.get('api-version') ?? '')) throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    const sub = this.subscriptions.get(subId!.toLowerCase());
    const principal = await this.authenticate(req, sub, subId!);
    this.takeFaults(subId!, principal.oid);
    if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subId}' could not be found.`);
    if ((req.method ?? 'GET') !== 'GET') throw new ArmError(405, 'HttpMethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
    if (!sub.principals.has(principal.oid)) throw new ArmError(403, 'AuthorizationFailed', `The client '${principal.appid}' with object id '${principal.oid}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '/subscriptions/${subId}/resourceGroups/${name}' or the scope is invalid.`);
    const id = `/subscriptions/${sub.id}/resourceGroups/${name}`;
    const owner = [...this.clusters.values()].find((c) => !c.gone && c.spec.subscriptionId.toLowerCase() === sub.id && nodeResourceGroupOf(c.spec).toLowerCase() === name!.toLowerCase());
    if (owner) {
      const s = owner.spec;
      return { id, name: nodeResourceGroupOf(s), type: 'Microsoft.Resources/resourceGroups', location: s.location, managedBy: owner.id, tags: { ...s.tags, 'aks-managed-cluster-name': s.name, 'aks-managed-cluster-rg': s.resourceGroup }, properties: { provisioningState: 'Succeeded' } };
    }
    const rg = sub.resourceGroups.get(name!.toLowerCase());
    if (!rg) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
    return { id: `/subscriptions/${sub.id}/resourceGroups/${rg}`, name: rg, type: 'Microsoft.Resources/resourceGroups', location: sub.location, properties: { provisioningState: 'Succeeded' } };
  }

  private checkApiVersion(v: string | null, location = 'global'): void {
    if (!v) throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(v)) throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${v}' is invalid. The supported versions are '${SUPPORTED_API_VERSIONS.join(',')}'.`);
    if (!SUPPORTED_API_VERSIONS.includes(v)) {
      throw new ArmError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location '${location}' and API version '${v}' for type 'managedClusters'. The supported api-versions are '${SUPPORTED_API_VERSIONS.join(', ')}'. The supported locations are 'westeurope, northeurope, eastus, westus2'.`);
    }
  }

  private async authenticate(req: IncomingMessage, sub: Subscription | undefined, subId: string): Promise<{ oid: string; appid: string }> {
    const challenge = { 'www-authenticate': `Bearer authorization_uri="${this.entra.url}/${sub?.tenantId ?? 'common'}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."` };
    const auth = req.headers.authorization;
    if (!auth) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", challenge);
    const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    if (!token) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.", challenge);
    // ARM checks the token against the subscription's tenant; an unknown subscription is checked after authentication
    const tenantId = sub?.tenantId ?? 'unknown';
    const check = await this.entra.verifyAccessToken(token, { audiences: ARM_AUDIENCES, tenantId });
    if (check.ok) return { oid: check.claims.oid, appid: check.claims.appid };
    switch (check.problem) {
      case 'expired':
        throw new ArmError(401, 'ExpiredAuthenticationToken', `The access token expiry UTC time '${check.detail}' is earlier than current UTC time '${new Date().toISOString()}'.`);
      case 'audience':
        throw new ArmError(401, 'InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource '${check.detail}'. It should exactly match with one of the allowed audiences '${ARM_AUDIENCES.join("','")}'.`);
      case 'tenant':
        if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subId}' could not be found.`);
        throw new ArmError(401, 'InvalidAuthenticationTokenTenant', `The access token is from the wrong issuer '${check.detail}'. It must match the tenant 'https://sts.windows.net/${tenantId}/' associated with this subscription. Please use the authority (URL) '${this.entra.url}/${tenantId}' to get the token.`);
      default:
        throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    }
  }

  private takeFaults(subId: string, oid: string): void {
    const t = this.faults.throttle;
    if (t && t.count > 0) {
      t.count--;
      throw new ArmError(429, 'SubscriptionRequestsThrottled', `Number of 'read' requests for subscription '${subId}' actor '${oid}' exceeded. Please try again after '${t.retryAfterSeconds}' seconds after additional tips related to throttling can be found at https://aka.ms/throttlingtips.`, { 'retry-after': String(t.retryAfterSeconds) });
    }
    const f = this.faults.failNext;
    if (f && f.count > 0) {
      f.count--;
      throw new ArmError(f.status, f.status === 503 ? 'ServiceUnavailable' : 'InternalServerError', 'The server encountered an internal error. Please retry the request.');
    }
  }

  private page(u: URL, items: unknown[]): { value: unknown[]; nextLink?: string } {
    const skip = Number(u.searchParams.get('$skipToken') ? Buffer.from(u.searchParams.get('$skipToken')!, 'base64url').toString('utf8') : '0') || 0;
    const value = items.slice(skip, skip + this.pageSize);
    if (skip + this.pageSize >= items.length) return { value };
    const next = new URL(u.toString());
    next.searchParams.set('$skipToken', Buffer.from(String(skip + this.pageSize)).toString('base64url'));
    return { value, nextLink: next.toString() };
  }
}

/** Operation names as the product counts them (shared/platforms/aks/arm.ts armOperation). */
function operationOf(method: string, path: string): string {
  const m = /\/providers\/Microsoft\.ContainerService\/managedClusters(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?\/?$/i.exec(path);
  if (!m) return `${method} other`;
  if (!m[1]) return 'managedClusters.list';
  if (!m[2]) return 'managedClusters.get';
  if (m[2].toLowerCase() === 'agentpools') return m[3] ? 'agentPools.get' : 'agentPools.list';
  return `managedClusters.${m[2]}`;
}

function managedClusterJson(c: ManagedClusterRecord): Record<string, unknown> {
  const s = c.spec;
  const host = `${s.name}-dns-${s.dnsHash}`;
  return {
    id: c.id,
    location: s.location,
    name: s.name,
    tags: s.tags,
    type: 'Microsoft.ContainerService/ManagedClusters',
    eTag: c.eTag,
    sku: { name: 'Base', tier: 'Free' },
    identity: { type: 'SystemAssigned', principalId: randomUUID(), tenantId: s.aad?.tenantId ?? randomUUID() },
    properties: {
      provisioningState: c.provisioningState,
      powerState: { code: c.powerState },
      kubernetesVersion: s.kubernetesVersion,
      currentKubernetesVersion: `${s.kubernetesVersion}.4`,
      dnsPrefix: `${s.name}-dns`,
      ...(s.privateCluster
        ? { privateFQDN: `${host}.${s.dnsHash}-${s.dnsHash.slice(0, 4)}.privatelink.${s.location}.azmk8s.io` }
        : { fqdn: `${host}.hcp.${s.location}.azmk8s.io`, azurePortalFQDN: `${host}.portal.hcp.${s.location}.azmk8s.io` }),
      agentPoolProfiles: s.agentPools.map((p) => ({ name: p.name, ...agentPoolProperties(c, p) })),
      nodeResourceGroup: nodeResourceGroupOf(s),
      enableRBAC: true,
      supportPlan: 'KubernetesOfficial',
      networkProfile: { networkPlugin: 'azure', networkPluginMode: 'overlay', networkPolicy: 'none', networkDataplane: 'azure', loadBalancerSku: 'standard', podCidr: '10.244.0.0/16', serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.0.0.10', outboundType: 'loadBalancer', ipFamilies: ['IPv4'] },
      ...(s.aad ? { aadProfile: { managed: true, enableAzureRBAC: s.aad.enableAzureRBAC, adminGroupObjectIDs: s.aad.adminGroupObjectIDs, tenantID: s.aad.tenantId } } : {}),
      disableLocalAccounts: s.disableLocalAccounts,
      maxAgentPools: 100,
      apiServerAccessProfile: s.privateCluster ? { enablePrivateCluster: true, privateDNSZone: 'system', enablePrivateClusterPublicFQDN: false } : { enablePrivateCluster: false },
      oidcIssuerProfile: { enabled: false },
      autoUpgradeProfile: { upgradeChannel: 'none', nodeOSUpgradeChannel: 'NodeImage' },
      ...(c.provisioningError ? { status: { provisioningError: { code: c.provisioningError.code, message: c.provisioningError.message } } } : {}),
    },
  };
}

function agentPoolProperties(c: ManagedClusterRecord, p: AgentPoolSpec): Record<string, unknown> {
  return {
    count: p.count,
    vmSize: p.vmSize,
    osDiskSizeGB: 128,
    osDiskType: 'Managed',
    kubeletDiskType: 'OS',
    maxPods: p.maxPods,
    type: 'VirtualMachineScaleSets',
    enableAutoScaling: false,
    provisioningState: c.provisioningState === 'Failed' ? 'Failed' : 'Succeeded',
    powerState: { code: c.powerState },
    orchestratorVersion: c.spec.kubernetesVersion,
    currentOrchestratorVersion: `${c.spec.kubernetesVersion}.4`,
    enableNodePublicIP: false,
    nodeLabels: p.nodeLabels,
    nodeTaints: p.nodeTaints,
    mode: p.mode,
    osType: p.osType,
    osSKU: p.osSKU,
    nodeImageVersion: p.nodeImageVersion,
    enableFIPS: false,
    ...(p.scaleSetPriority === 'Spot' ? { scaleSetPriority: 'Spot', scaleSetEvictionPolicy: 'Delete', spotMaxPrice: -1 } : {}),
    upgradeSettings: { maxSurge: '10%' },
  };
}

function agentPoolJson(c: ManagedClusterRecord, p: AgentPoolSpec): Record<string, unknown> {
  return { id: `${c.id}/agentPools/${p.name}`, name: p.name, type: 'Microsoft.ContainerService/managedClusters/agentPools', properties: agentPoolProperties(c, p) };
}

export type { Phase as ClusterPhase };

/** A completed resource operation, as ARM reports it to Event Grid (ResourceWriteSuccess / ResourceDeleteSuccess). */
export interface ArmWrite {
  kind: 'write' | 'delete';
  resourceId: string;
  operationName: string;
}

const RESOURCE_GROUP = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/?$/i;

/** AKS's default node resource group name. */
export function nodeResourceGroupOf(s: { resourceGroup: string; name: string; location: string }): string {
  return `MC_${s.resourceGroup}_${s.name}_${s.location}`;
}
