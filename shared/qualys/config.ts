import * as z from 'zod';
import { isQualysPlatform, UNKNOWN_PLATFORM_HINT } from '../config/qualys-platforms';

/**
 * `qualys:` section of the configuration: how to reach the CS API and what the hygiene run keeps in
 * shape (registry scan schedules, stale sensor purge). Facts behind the defaults: qualys-cs-api.md.
 */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time "HH:mm"');
const weekDay = z.enum(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY']);
export type WeekDay = z.infer<typeof weekDay>;

const timeZone = z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Paris');

export const repoTagSchema = z.lazy(() => z.strictObject({
  repo: z.string().min(1),
  /** Tag pattern; ".*" (all tags) follows NELSSEC's working code, qualys-cs-api.md §1.7 [C3/I]. */
  tag: z.string().default('.*'),
}));

export const scheduleDeclSchema = z.lazy(() => z.strictObject({
  /** Name without the managed prefix; the API name is `<namePrefix><name>`. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  every: z.enum(['daily', 'weekly']).default('daily'),
  /** Weekly only. */
  weekDay: weekDay.optional(),
  /** Local start time in `timeZone`; the API only takes UTC (qualys-cs-api.md §1.7), we convert. */
  at: hhmm,
  timeZone: timeZone.default('UTC'),
  repositories: z.array(repoTagSchema).min(1),
  forceScan: z.boolean().default(false),
}).refine((s) => s.every === 'daily' || s.weekDay !== undefined, { message: 'weekly schedules need weekDay', path: ['weekDay'] }));
export type ScheduleDecl = z.infer<typeof scheduleDeclSchema>;

export const registryDeclSchema = z.lazy(() => z.strictObject({
  uri: z.string().url(),
  name: z.string().min(1).optional(),
  /** registryType as the API spells it (DOCS-REG-CREATE): AWS, Azure, GCP, GOOGLE_ARTIFACT_REGISTRY, JFrog, DockerHub, V2, V2_PRIVATE. */
  type: z.string().min(1),
  aws: z
    .strictObject({
      accountId: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
      roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN arn:aws:iam::<12 digits>:role/<name>'),
      region: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'an AWS region such as eu-west-1'),
      accountType: z.enum(['Global', 'US_Gov']).default('Global'),
    })
    .optional(),
  /** Azure / GCP / Artifact Registry connector (created in Qualys beforehand). */
  connectorId: z.string().min(1).optional(),
  projectId: z.string().optional(),
  location: z.string().optional(),
  dockerHubOrgName: z.string().optional(),
  /** Secrets Manager secret holding {username, password} or {token}: never in the config itself. */
  credentialsSecretId: z.string().min(1).optional(),
  schedules: z.array(scheduleDeclSchema).default([]),
}));
export type RegistryDecl = z.infer<typeof registryDeclSchema>;

/**
 * Built on first use (z.lazy): a configuration without a `qualys:` section gets QUALYS_DEFAULTS without
 * building it (a CLI run pays for every schema it builds).
 */
export const qualysConfigSchema = z.lazy(() => z.strictObject({
  /** Qualys platform (gateway table in qualys-platforms.ts); with baseUrl set it is not used. */
  platform: z.string().default('US2'),
  baseUrl: z.string().url().optional(),
  auth: z
    .strictObject({
      /** password: POST /auth; oauth: POST /auth/oidc with client credentials (tenant-dependent, [I]). */
      method: z.enum(['password', 'oauth']).default('password'),
      /** Secrets Manager secret: JSON {username, password} or {clientId, clientSecret}. */
      secretId: z.string().min(1).default('sensorfleet/qualys-api'),
      secretRegion: z.string().optional(),
    })
    .default({ method: 'password', secretId: 'sensorfleet/qualys-api' }),
  /** 1..1000 (containers accept up to 1000, DOCS-CONT-LIST; same assumed for sensors/registries [I]). */
  pageSize: z.number().int().min(1).max(1000).default(250),
  timeoutMs: z.number().int().positive().default(30_000),
  /** Upper bound on concurrent calls; the X-Concurrency-Limit-Limit the API advertises lowers it. */
  maxConcurrency: z.number().int().positive().default(2),
  /** Longest rate-limit pause a run accepts before it stops and leaves the rest for the next run. */
  maxRateLimitWaitSeconds: z.number().int().positive().default(600),
  retry: z
    .strictObject({ attempts: z.number().int().min(1).default(6), baseDelayMs: z.number().int().positive().default(500), maxDelayMs: z.number().int().positive().default(20_000) })
    .default({ attempts: 6, baseDelayMs: 500, maxDelayMs: 20_000 }),
  staleSensors: z
    .strictObject({
      enabled: z.boolean().default(true),
      olderThanDays: z.number().positive().default(30),
      maxDeletesPerRun: z.number().int().min(0).default(500),
      batchSize: z.number().int().min(1).max(1000).default(100),
    })
    .default({ enabled: true, olderThanDays: 30, maxDeletesPerRun: 500, batchSize: 100 }),
  schedules: z
    .strictObject({
      /** Schedules whose name starts with this are ours; nothing else is ever changed or deleted. */
      namePrefix: z.string().min(1).default('sensorfleet-'),
      registries: z.array(registryDeclSchema).default([]),
      /** Also declare the ECR registry of every configured AWS account/region (targets.aws). */
      ecrFromTargets: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** Role in each account that Qualys assumes to read ECR (trust: Qualys account + external id). */
          roleName: z.string().min(1).default('sensorfleet-qualys-registry-scan'),
          schedules: z.array(scheduleDeclSchema).default([]),
        })
        .default({ enabled: false, roleName: 'sensorfleet-qualys-registry-scan', schedules: [] }),
    })
    .default({ namePrefix: 'sensorfleet-', registries: [], ecrFromTargets: { enabled: false, roleName: 'sensorfleet-qualys-registry-scan', schedules: [] } }),
}).superRefine((q, ctx) => {
  // a misspelt platform would otherwise fail at the first API call, or send the gateway's traffic to no one
  if (!q.baseUrl && !isQualysPlatform(q.platform)) ctx.addIssue({ code: 'custom', path: ['platform'], message: `unknown "${q.platform}": want ${UNKNOWN_PLATFORM_HINT}, or set qualys.baseUrl` });
}));
export type QualysConfig = z.infer<typeof qualysConfigSchema>;

/** qualysConfigSchema.parse({}), written out (test/unit/config-defaults.test.ts keeps the two equal). */
export const QUALYS_DEFAULTS: QualysConfig = {
  platform: 'US2',
  auth: { method: 'password', secretId: 'sensorfleet/qualys-api' },
  pageSize: 250,
  timeoutMs: 30_000,
  maxConcurrency: 2,
  maxRateLimitWaitSeconds: 600,
  retry: { attempts: 6, baseDelayMs: 500, maxDelayMs: 20_000 },
  staleSensors: { enabled: true, olderThanDays: 30, maxDeletesPerRun: 500, batchSize: 100 },
  schedules: { namePrefix: 'sensorfleet-', registries: [], ecrFromTargets: { enabled: false, roleName: 'sensorfleet-qualys-registry-scan', schedules: [] } },
};

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
