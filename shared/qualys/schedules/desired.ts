import type { SensorfleetConfig } from '../../config/schema';
import type { ScheduleBody } from '../api';
import type { RegistryDecl, ScheduleDecl } from '../config';
import { toUtcSchedule } from './time';

export interface DesiredSchedule {
  /** Full API name, managed prefix included. */
  name: string;
  body: ScheduleBody;
  /** How it was declared, for plan lines ("daily 02:00 Europe/Paris"). */
  declared: string;
}

export interface DesiredRegistry {
  /** Normalised URI: the key registries are matched on. */
  key: string;
  uri: string;
  /** POST /registry body without credentials (those are read from Secrets Manager at apply time). */
  createBody: Record<string, unknown>;
  credentialsSecretId?: string;
  schedules: DesiredSchedule[];
}

/** Declared registries (config, plus the fleet's ECR registries when enabled) with UTC schedule bodies for `now`. */
export function desiredRegistries(config: SensorfleetConfig, now: Date): DesiredRegistry[] {
  const s = config.qualys.schedules;
  const decls: RegistryDecl[] = [...s.registries];
  if (s.ecrFromTargets.enabled) {
    for (const t of config.targets.aws) {
      for (const region of t.regions) {
        const partition = region.startsWith('us-gov-') ? 'aws-us-gov' : region.startsWith('cn-') ? 'aws-cn' : 'aws';
        decls.push({
          uri: `https://${t.accountId}.dkr.ecr.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}`,
          name: `ecr-${t.accountId}-${region}`,
          type: 'AWS',
          aws: { accountId: t.accountId, roleArn: `arn:${partition}:iam::${t.accountId}:role/${s.ecrFromTargets.roleName}`, region, accountType: partition === 'aws-us-gov' ? 'US_Gov' : 'Global' },
          schedules: s.ecrFromTargets.schedules,
        });
      }
    }
  }
  const byKey = new Map<string, DesiredRegistry>();
  for (const d of decls) {
    const key = registryKey(d.uri);
    if (byKey.has(key)) continue; // an explicit declaration wins over the one derived from targets
    byKey.set(key, {
      key,
      uri: d.uri,
      createBody: createBody(d),
      ...(d.credentialsSecretId ? { credentialsSecretId: d.credentialsSecretId } : {}),
      schedules: d.schedules.map((sd) => desiredSchedule(sd, s.namePrefix, now)),
    });
  }
  return [...byKey.values()];
}

export function registryKey(uri: string): string {
  return uri.trim().toLowerCase().replace(/\/+$/, '');
}

function desiredSchedule(d: ScheduleDecl, prefix: string, now: Date): DesiredSchedule {
  const utc = toUtcSchedule({ every: d.every, at: d.at, timeZone: d.timeZone, ...(d.weekDay ? { weekDay: d.weekDay } : {}) }, now);
  return {
    name: `${prefix}${d.name}`,
    declared: `${d.every}${d.weekDay && d.every === 'weekly' ? ` ${d.weekDay}` : ''} ${d.at} ${d.timeZone}`,
    body: {
      name: `${prefix}${d.name}`,
      onDemand: false,
      scheduleScanIntervalInDays: utc.scheduleScanIntervalInDays,
      ...(utc.weekDay ? { weekDay: utc.weekDay } : {}),
      schedule: utc.schedule,
      forceScan: d.forceScan,
      filters: [{ repoTags: d.repositories.map((r) => ({ repo: r.repo, tag: r.tag })), days: null }],
    },
  };
}

/** DOCS-REG-CREATE [C] with the JSON shape of NELSSEC [C3]. */
function createBody(d: RegistryDecl): Record<string, unknown> {
  const base: Record<string, unknown> = { registryType: d.type, registryUri: d.uri, registryName: d.name ?? d.uri.replace(/^https?:\/\//, '') };
  if (d.aws) return { ...base, credentialType: 'AWS', aws: { accountId: d.aws.accountId, arn: d.aws.roleArn, region: d.aws.region, accountType: d.aws.accountType } };
  if (d.connectorId) return { ...base, connectorId: d.connectorId, ...(d.projectId ? { projectId: d.projectId } : {}), ...(d.location ? { location: d.location } : {}) };
  if (d.dockerHubOrgName) base.dockerHubOrgName = d.dockerHubOrgName;
  return d.credentialsSecretId ? base : { ...base, credentialType: 'None' };
}
