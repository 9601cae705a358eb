/**
 * Azure Resource Manager access for AKS: one ContainerServiceClient per target and subscription, with
 * the same policy as every other external call (DESIGN §8): a timeout on each attempt, the SDK's retry
 * (exponential backoff on 5xx and connection errors, Retry-After honoured on 429/503), each attempt
 * counted, and failures turned into named errors that carry ARM's code but no request details.
 */
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { isRestError, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { recordApiCall } from '../../runtime/call-log';
import { DEFAULT_RETRY } from '../../runtime/retry';
import type { AzureTarget } from './config';
import { armScope, azureCredential, redactTokens } from './credential';
import { AzureApiError, AzureAuthenticationError } from './errors';

const ATTEMPT_TIMEOUT_MS = 15_000;
const clients = new Map<string, ContainerServiceClient>();
/** ARM's own error message per failed request: the SDK's pager drops it ("Pagination failed with unexpected statusCode 404"). */
const armMessages = new WeakMap<object, string>();

export function armClient(target: AzureTarget, subscriptionId: string): ContainerServiceClient {
  const key = JSON.stringify([target.tenantId, target.clientId, target.auth, target.endpoints, subscriptionId.toLowerCase()]);
  let client = clients.get(key);
  if (!client) {
    client = new ContainerServiceClient(azureCredential(target), subscriptionId, {
      endpoint: target.endpoints.resourceManager,
      credentials: { scopes: [armScope(target)] },
      retryOptions: { maxRetries: DEFAULT_RETRY.attempts - 1, retryDelayInMs: DEFAULT_RETRY.baseDelayMs, maxRetryDelayInMs: DEFAULT_RETRY.maxDelayMs },
      userAgentOptions: { userAgentPrefix: 'sensorfleet' },
    });
    client.pipeline.addPolicy(attemptTimeout);
    client.pipeline.addPolicy(keepArmMessage, { phase: 'Deserialize' });
    // after the Sign phase = inside the retry loop: every HTTP attempt is counted
    client.pipeline.addPolicy(countArmCalls, { afterPhase: 'Sign' });
    clients.set(key, client);
  }
  return client;
}

/** Tests: forget cached clients. */
export function resetArmClients(): void {
  clients.clear();
}

/** Runs one ARM operation; failures become AzureApiError (status + ARM code) or AzureAuthenticationError. */
export async function armCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw armError(what, err);
  }
}

export function armError(what: string, err: unknown): Error {
  if (err instanceof AzureAuthenticationError || err instanceof AzureApiError) return err;
  if (isRestError(err)) {
    const status = err.statusCode;
    const code = err.code;
    const message = redactTokens((err.request && armMessages.get(err.request)) ?? err.message);
    if (status === undefined) return new AzureApiError(`${what}: ${code ?? 'request failed'}: ${message}`, true, undefined, code);
    const retryable = status === 429 || status >= 500;
    return new AzureApiError(`${what}: ${status}${code ? ` ${code}` : ''}: ${message}${hintFor(status)}`, retryable, status, code);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function hintFor(status: number): string {
  if (status === 401) return ' (ARM refused the token: check the target tenantId and the Entra application)';
  if (status === 403) return ' (give the Entra application a role that can read AKS clusters and list their user credentials, e.g. Azure Kubernetes Service Cluster User Role and Reader)';
  return '';
}

const attemptTimeout: PipelinePolicy = {
  name: 'sensorfleetAttemptTimeout',
  sendRequest(request, next) {
    if (!request.timeout) request.timeout = ATTEMPT_TIMEOUT_MS;
    return next(request);
  },
};

const keepArmMessage: PipelinePolicy = {
  name: 'sensorfleetArmErrorMessage',
  async sendRequest(request, next) {
    const response = await next(request);
    if (response.status >= 400 && response.bodyAsText) {
      try {
        const message = (JSON.parse(response.bodyAsText) as { error?: { message?: unknown } }).error?.message;
        if (typeof message === 'string') armMessages.set(request, message);
      } catch {
        // not ARM's JSON error body; the SDK's message stands
      }
    }
    return response;
  },
};

const countArmCalls: PipelinePolicy = {
  name: 'sensorfleetArmCallCounter',
  sendRequest(request, next) {
    const operation = armOperation(request.method, new URL(request.url).pathname);
    // POST .../listClusterUserCredential reads; nothing else we call writes
    recordApiCall({ service: 'ARM', operation, mutating: request.method !== 'GET' && !/^managedClusters\.list\w*Credential$/.test(operation) });
    return next(request);
  },
};

/** `managedClusters.get`, `managedClusters.list`, `managedClusters.listClusterUserCredential`, `agentPools.list`, ... from the request path. */
export function armOperation(method: string, path: string): string {
  const p = path.replace(/\/+$/, '');
  const m = /\/providers\/Microsoft\.ContainerService\/managedClusters(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?$/i.exec(p);
  if (!m) return `${method} other`;
  const [, name, sub, subName] = m;
  if (!name) return 'managedClusters.list';
  if (!sub) return method === 'GET' ? 'managedClusters.get' : `managedClusters.${method.toLowerCase()}`;
  if (sub.toLowerCase() === 'agentpools') return subName ? 'agentPools.get' : 'agentPools.list';
  return `managedClusters.${sub}`;
}
