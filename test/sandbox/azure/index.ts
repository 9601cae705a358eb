/**
 * The Azure side of the sandbox: a local Entra ID (token service) and Azure Resource Manager (AKS), both
 * HTTPS on 127.0.0.1 with the sandbox CA, and a fleet builder for AKS clusters backed by the sandbox
 * Kubernetes API server. Entra trusts the sandbox AWS front's outbound identity issuer, so the function
 * role's GetWebIdentityToken JWT can be exchanged for Entra tokens as in AWS -> Azure federation.
 */
import { randomUUID } from 'node:crypto';
import type { AwsFront } from '../aws/front';
import type { FakeKubeApiServer } from '../kube';
import type { SensorEvents } from '../sensor-events';
import { SandboxArm, type ArmFaults, type ArmRequest } from './arm';
import { SandboxEntra, type EntraApp, type EntraFaults, type EntraRequest } from './entra';
import { createAksFleet, type AksFleet } from './fleet';
import { closedLoopbackPort } from './https';

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface AzureSandbox {
  armUrl: string;
  authorityHost: string;
  tenantId: string;
  subscriptionId: string;
  arm: SandboxArm;
  entra: SandboxEntra;
  fleet: AksFleet;
  /**
   * An Entra application for sensorfleet in the sandbox tenant with a role on the subscription: a
   * federated credential trusting the AWS account's outbound issuer for `subject` (the function role
   * ARN), and/or a client secret / certificate.
   */
  registerApp(o: { awsAccount?: string; subject?: string; audiences?: string[]; secret?: string; certificatePem?: string; grant?: boolean; tenantId?: string }): EntraApp;
  /** Input for one `targets.azure[]` entry (before schema parsing). */
  targetConfig(app: EntraApp, o?: { auth?: Record<string, unknown>; resourceGroups?: string[] }): Record<string, unknown>;
  requests: { arm: ArmRequest[]; entra: EntraRequest[] };
  faults: { arm: ArmFaults; entra: EntraFaults };
  stop(): Promise<void>;
}

export async function startAzureSandbox(o: { kube: FakeKubeApiServer; front: AwsFront; sensors: SensorEvents; tenantId?: string; subscriptionId?: string }): Promise<AzureSandbox> {
  const tenantId = (o.tenantId ?? randomUUID()).toLowerCase();
  const subscriptionId = (o.subscriptionId ?? randomUUID()).toLowerCase();
  const entra = await SandboxEntra.start();
  const arm = await SandboxArm.start({ entra });
  entra.addTenant(tenantId);
  arm.addSubscription({ subscriptionId, tenantId });
  const fleet = createAksFleet({ arm, entra, kube: o.kube, sensors: o.sensors, tenantId, subscriptionId, unreachablePort: await closedLoopbackPort() });
  return {
    armUrl: arm.url,
    authorityHost: entra.url,
    tenantId,
    subscriptionId,
    arm,
    entra,
    fleet,
    registerApp(r) {
      const issuer = r.awsAccount ? o.front.webIdentity.issuerFor(r.awsAccount) : undefined;
      if (issuer) entra.trustIssuer(issuer, () => o.front.webIdentity.jwks());
      const app = entra.registerApp({
        tenantId: r.tenantId ?? tenantId,
        federatedCredentials: issuer && r.subject ? [{ name: 'sensorfleet-lambda', issuer, subject: r.subject, audiences: r.audiences ?? [FEDERATION_AUDIENCE] }] : [],
        ...(r.secret ? { secrets: [r.secret] } : {}),
        ...(r.certificatePem ? { certificatePems: [r.certificatePem] } : {}),
      });
      if (r.grant !== false) arm.grant(subscriptionId, app.objectId);
      return app;
    },
    targetConfig(app, t = {}) {
      return {
        tenantId: app.tenantId,
        subscriptionId,
        clientId: app.clientId,
        ...(t.resourceGroups ? { resourceGroups: t.resourceGroups } : {}),
        auth: t.auth ?? { method: 'aws-federation' },
        endpoints: { resourceManager: arm.url, authorityHost: entra.url },
      };
    },
    requests: { arm: arm.requests, entra: entra.requests },
    faults: {
      get arm() {
        return arm.faults;
      },
      get entra() {
        return entra.faults;
      },
    },
    async stop() {
      await arm.stop();
      await entra.stop();
    },
  };
}

export type { AksFleet, CreateAksClusterOptions, AksNodePoolSpec } from './fleet';
export type { EntraApp } from './entra';
export { AKS_SERVER_APP_ID } from './entra';
