import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { isMutatingAwsOperation, recordApiCall } from '../../runtime/call-log';
import { DEFAULT_RETRY } from '../../runtime/retry';

/**
 * One place that builds AWS SDK clients, so every AWS call gets the same policy (DESIGN §8):
 * timeouts on connect and on the whole request, the SDK's standard retry mode (jittered backoff,
 * throttling-aware) bounded by our attempt count, and call counting for reports and budgets.
 * Endpoints come from the standard SDK settings (AWS_ENDPOINT_URL), never from product flags.
 */
export interface AwsAccess {
  region: string;
  /** Role to assume (cross-account); omitted for the functions' own account. */
  roleArn?: string;
  externalId?: string;
}

type ClientCtor<C> = new (config: Record<string, unknown>) => C;

const REQUEST_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 3_000;
const clients = new Map<string, unknown>();
const roleCredentials = new Map<string, AwsCredentialIdentityProvider>();

/** `options`: client settings of one service (e.g. S3's forcePathStyle), part of the cache key. */
export function awsClient<C extends { middlewareStack: any }>(Ctor: ClientCtor<C>, access: AwsAccess, options: Record<string, unknown> = {}): C {
  const key = `${Ctor.name}|${access.region}|${access.roleArn ?? ''}|${JSON.stringify(options)}`;
  const cached = clients.get(key) as C | undefined;
  if (cached) return cached;
  const client = new Ctor({
    region: access.region,
    maxAttempts: DEFAULT_RETRY.attempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({ connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
    ...(access.roleArn ? { credentials: assumedRoleCredentials(access) } : {}),
    ...options,
  });
  countEveryAttempt(client);
  clients.set(key, client);
  return client;
}

/** Forget cached clients (tests that change AWS_ENDPOINT_URL between runs). */
export function resetAwsClients(): void {
  clients.clear();
  roleCredentials.clear();
}

function countEveryAttempt(client: { middlewareStack: any }): void {
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      recordApiCall({ service: String(context.clientName ?? 'aws').replace(/Client$/, ''), operation, mutating: isMutatingAwsOperation(operation) });
      return next(args);
    },
    // deserialize runs inside the retry loop, so each HTTP attempt is counted
    { step: 'deserialize', name: 'sensorfleetCallCounter', priority: 'low' },
  );
}

function assumedRoleCredentials(access: AwsAccess): AwsCredentialIdentityProvider {
  const key = `${access.roleArn}|${access.externalId ?? ''}`;
  const existing = roleCredentials.get(key);
  if (existing) return existing;
  let current: AwsCredentialIdentity | undefined;
  const provider: AwsCredentialIdentityProvider = async () => {
    const fresh = current?.expiration && current.expiration.getTime() - Date.now() > 5 * 60_000;
    if (current && fresh) return current;
    const { AssumeRoleCommand, STSClient } = await stsModule();
    const sts = awsClient(STSClient, { region: access.region });
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: access.roleArn,
        RoleSessionName: 'sensorfleet',
        DurationSeconds: 3600,
        ...(access.externalId ? { ExternalId: access.externalId } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${access.roleArn} returned no credentials`);
    current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    return current;
  };
  roleCredentials.set(key, provider);
  return provider;
}

/**
 * "111122223333/eu-west-1": where a call went, for error messages. The account comes from the role
 * ARN, else from GetCallerIdentity (asked only when a message needs it); the region alone if unknown.
 */
export async function whereLabel(access: AwsAccess): Promise<string> {
  const fromRole = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(access.roleArn ?? '')?.[1];
  if (fromRole) return `${fromRole}/${access.region}`;
  try {
    const { GetCallerIdentityCommand, STSClient } = await stsModule();
    const account = (await awsClient(STSClient, { region: access.region }).send(new GetCallerIdentityCommand({}))).Account;
    return account ? `${account}/${access.region}` : access.region;
  } catch {
    return access.region;
  }
}

/** STS only when a role is assumed or an error message needs the account: most calls need neither (a chunk of its own in the bundles). */
function stsModule(): Promise<typeof import('@aws-sdk/client-sts')> {
  return import('@aws-sdk/client-sts');
}
