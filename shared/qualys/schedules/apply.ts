import { errorMessage } from '../../runtime/errors';
import type { QualysApi } from '../api';
import { QualysApiError, QualysNetworkError } from '../errors';
import { registryKey, type DesiredRegistry } from './desired';
import { describeAction, type ScheduleAction } from './plan';

/** Reads a registry's credentials secret ({username, password} or {token}). */
export type RegistrySecretReader = (secretId: string) => Promise<Record<string, string>>;

export interface ScheduleApplyResult {
  registriesCreated: number;
  schedulesCreated: number;
  schedulesUpdated: number;
  schedulesDeleted: number;
  schedulesDeferred: number;
  lines: string[];
  errors: string[];
}

/**
 * Executes a schedule plan. Registries are worked on concurrently (the shared rate budget bounds
 * the calls in flight), actions of one registry in order. A failed action is reported and the rest
 * go on; the next run re-observes and resumes.
 */
export async function applySchedulePlan(api: QualysApi, actions: ScheduleAction[], readSecret: RegistrySecretReader): Promise<ScheduleApplyResult> {
  const result: ScheduleApplyResult = { registriesCreated: 0, schedulesCreated: 0, schedulesUpdated: 0, schedulesDeleted: 0, schedulesDeferred: 0, lines: [], errors: [] };
  const byRegistry = new Map<string, ScheduleAction[]>();
  for (const a of actions) byRegistry.set(a.registry.key, [...(byRegistry.get(a.registry.key) ?? []), a]);
  await Promise.all([...byRegistry.values()].map((list) => applyForRegistry(api, list, readSecret, result)));
  return result;
}

async function applyForRegistry(api: QualysApi, actions: ScheduleAction[], readSecret: RegistrySecretReader, result: ScheduleApplyResult): Promise<void> {
  let createdRegistryId: string | undefined;
  for (const a of actions) {
    try {
      switch (a.kind) {
        case 'create-registry': {
          const body = { ...a.registry.createBody, ...(await registryCredentials(a.registry, readSecret)) };
          createdRegistryId = await createOnce(() => api.createRegistry(body), () => findRegistryId(api, a.registry));
          if (!createdRegistryId) throw new Error('Qualys created the registry but it is not listed yet');
          result.registriesCreated++;
          break;
        }
        case 'create-schedule': {
          const registryId = a.registryId ?? createdRegistryId;
          if (!registryId) throw new Error('its registry could not be created');
          await createOnce(() => api.createSchedule(registryId, a.schedule.body), () => findScheduleId(api, registryId, a.schedule.name));
          result.schedulesCreated++;
          break;
        }
        case 'update-schedule':
          await api.updateSchedule(a.registryId, a.scheduleId, a.schedule.body);
          result.schedulesUpdated++;
          break;
        case 'recreate-schedule':
          await api.deleteSchedule(a.registryId, a.scheduleId);
          result.schedulesDeleted++;
          await createOnce(() => api.createSchedule(a.registryId, a.schedule.body), () => findScheduleId(api, a.registryId, a.schedule.name));
          result.schedulesCreated++;
          break;
        case 'delete-schedule':
          await api.deleteSchedule(a.registryId, a.scheduleId);
          result.schedulesDeleted++;
          break;
        case 'defer':
          result.schedulesDeferred++;
          break;
      }
      result.lines.push(describeAction(a));
    } catch (err) {
      result.errors.push(`${describeAction(a)} FAILED: ${errorMessage(err)}`);
    }
  }
}

/**
 * A create whose answer was lost (5xx, timeout) may have happened: look before creating again, so
 * nothing is created twice. Creates are not retried by the transport for this reason.
 */
export async function createOnce(create: () => Promise<string | undefined>, find: () => Promise<string | undefined>, attempts = 3): Promise<string | undefined> {
  for (let i = 0; ; i++) {
    try {
      return (await create()) ?? (await find());
    } catch (err) {
      const ambiguous = err instanceof QualysNetworkError || (err instanceof QualysApiError && err.status >= 500);
      if (!ambiguous || i + 1 >= attempts) throw err;
      const existing = await find();
      if (existing) return existing;
    }
  }
}

async function findRegistryId(api: QualysApi, reg: DesiredRegistry): Promise<string | undefined> {
  return (await api.listRegistries()).find((r) => registryKey(r.registryUri) === reg.key)?.registryUuid;
}

async function findScheduleId(api: QualysApi, registryId: string, name: string): Promise<string | undefined> {
  return (await api.listSchedules(registryId)).find((s) => s.name === name)?.scheduleUuid;
}

/** Credentials come from Secrets Manager at apply time, so they are never in config, plans or reports. */
async function registryCredentials(reg: DesiredRegistry, readSecret: RegistrySecretReader): Promise<Record<string, unknown>> {
  if (!reg.credentialsSecretId) return {};
  const secret = await readSecret(reg.credentialsSecretId);
  if (secret.token) return { credentialType: 'Token', accessToken: secret.token };
  if (secret.username && secret.password) return { credentialType: 'BasicAuth', credential: { username: secret.username, password: secret.password } };
  throw new Error(`registry credentials secret ${reg.credentialsSecretId} has neither {token} nor {username, password}`);
}
