import * as z from 'zod';
import type { DiscoveryScope } from '../types';

/**
 * `targets.azure[]`: Azure subscriptions (AKS). Owned by the AKS platform; loaded by the config schema
 * without the Azure SDK (this file imports zod only).
 */
const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a GUID such as 00000000-0000-0000-0000-000000000000');
const resourceGroup = z.string().regex(/^[-\w._()]{1,90}$/, 'an Azure resource group name');

/** How sensorfleet proves it is the Entra application `clientId`. */
export const azureAuthSchema = z.lazy(() => z.discriminatedUnion('method', [
  /**
   * No secret: the function role's JWT from AWS STS GetWebIdentityToken is the client assertion of a
   * federated credential on the application (issuer = the AWS account's outbound issuer URL,
   * subject = the role ARN, audience below).
   */
  z.strictObject({
    method: z.literal('aws-federation'),
    audience: z.string().min(1).default('api://AzureADTokenExchange'),
  }),
  /** A client secret kept in Secrets Manager as JSON {"clientSecret": "..."}. */
  z.strictObject({ method: z.literal('client-secret'), secretId: z.string().min(1), secretRegion: z.string().optional() }),
  /** A certificate kept in Secrets Manager as JSON {"certificatePem": "<cert + private key PEM>"}. */
  z.strictObject({ method: z.literal('client-certificate'), secretId: z.string().min(1), secretRegion: z.string().optional() }),
]));
export type AzureAuth = z.infer<typeof azureAuthSchema>;

export const azureEndpointsSchema = z.lazy(() => z
  .strictObject({
    /** Azure Resource Manager; other clouds (Azure China, US Government) have their own. */
    resourceManager: z.string().url().default('https://management.azure.com'),
    /** Entra ID authority host. */
    authorityHost: z.string().url().default('https://login.microsoftonline.com'),
    /**
     * The audience of ARM tokens when it differs from the public cloud's `https://management.azure.com`
     * (Azure US Government: https://management.core.usgovcloudapi.net/, Azure China:
     * https://management.core.chinacloudapi.cn/).
     */
    resourceManagerAudience: z.string().url().optional(),
  })
  .default({ resourceManager: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' }));

/** Built on first use (z.lazy): a configuration without Azure targets never builds it (a CLI run pays for every schema it builds). */
export const azureTargetSchema = z.lazy(() => z.strictObject({
  tenantId: uuid,
  subscriptionId: uuid,
  /** Only these resource groups; default every managed cluster of the subscription. */
  resourceGroups: z.array(resourceGroup).min(1).optional(),
  /** The Entra application (client id) sensorfleet acts as. */
  clientId: uuid,
  auth: azureAuthSchema.default({ method: 'aws-federation', audience: 'api://AzureADTokenExchange' }),
  endpoints: azureEndpointsSchema,
}));
export type AzureTarget = z.infer<typeof azureTargetSchema>;

/** One discovery scope per subscription, or per configured resource group. */
export function azureScopes(targets: AzureTarget[]): DiscoveryScope[] {
  return targets.flatMap((t) =>
    (t.resourceGroups ?? ['*']).map((rg) => ({ platform: 'azure-aks' as const, scope: t.subscriptionId.toLowerCase(), location: rg })),
  );
}
