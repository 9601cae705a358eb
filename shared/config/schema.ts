import * as z from 'zod';
import { QUALYS_DEFAULTS, qualysConfigSchema } from '../qualys/config';
import { isQualysPlatform, UNKNOWN_PLATFORM_HINT } from './qualys-platforms';
import { awsTargetSchema } from '../platforms/aws/config';
import { azureTargetSchema } from '../platforms/aks/config';
import { gcpTargetSchema } from '../platforms/gke/config';
import { WEBHOOKS_DEFAULT, webhooksConfigSchema } from '../webhooks/config';

/**
 * Desired state. Defaults come from DESIGN §5: the seeds' hardened shape corrected with the
 * vendor chart (qualys-cs-api.md §2): `--container-runtime containerd`, QUALYS_POD_* env names,
 * only the runtime socket the node has, the namespaced Role the sensor needs for scan pods.
 */
/** Every object is strict: an unknown (misspelt) key is an error with its path, never silently ignored. */
const quantity = z.string().regex(/^[0-9.]+(m|Ki|Mi|Gi|Ti|k|M|G)?$/, 'a Kubernetes quantity such as 250m or 512Mi');

export const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).default('Exists'),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});
export type Toleration = z.infer<typeof tolerationSchema>;

/**
 * Built on first use (z.lazy), as the Azure, Google and Qualys sections are: a configuration that leaves
 * the section out gets SENSOR_DEFAULTS without building it (a CLI run pays for every schema it builds).
 */
export const sensorSchema = z.lazy(() => z.strictObject({
  image: z.string().default('qualys/qcs-sensor'),
  version: z.string().regex(/^[A-Za-z0-9._-]+$/).default('1.34.1-0'),
  imagePullPolicy: z.enum(['IfNotPresent', 'Always']).default('IfNotPresent'),
  containerRuntime: z.enum(['containerd', 'cri-o', 'docker']).default('containerd'),
  /** Arguments after the mode flag (--k8s-mode / --ecs-mode) and runtime flag. */
  args: z.array(z.string()).default(['--registry-sensor', '--enable-console-logs']),
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: quantity, memory: quantity }),
      limits: z.strictObject({ cpu: quantity, memory: quantity }),
    })
    .default({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '500m', memory: '1Gi' } }),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('qualys-sensor'),
  tolerations: z.array(tolerationSchema).default([
    { operator: 'Exists', effect: 'NoSchedule' },
    { operator: 'Exists', effect: 'NoExecute' },
  ]),
  priorityClassName: z.string().default('system-node-critical'),
  /** DaemonSet rolling update: a share of nodes ("10%") or a count. */
  maxUnavailable: z.union([z.string().regex(/^\d+%$/), z.number().int().positive()]).default('10%'),
  /** Qualys platform (POD_URL is derived) or an explicit POD_URL. */
  qualysPlatform: z.string().refine(isQualysPlatform, `want ${UNKNOWN_PLATFORM_HINT}`).default('US2'),
  podUrl: z.string().url().optional(),
  /**
   * The operating systems and CPU architectures the configured sensor image runs on (values of the node
   * labels kubernetes.io/os and kubernetes.io/arch). The DaemonSet selects only these nodes; the others
   * are reported as out of scope, not as uncovered. The Qualys container sensor is a Linux image.
   */
  nodeSelection: z
    .strictObject({
      operatingSystems: z.array(z.enum(['linux', 'windows'])).min(1).default(['linux']),
      // GOARCH names, as the kubelet sets kubernetes.io/arch
      architectures: z.array(z.enum(['amd64', 'arm64', 'arm', 'ppc64le', 's390x', '386'])).min(1).default(['amd64', 'arm64']),
    })
    .default({ operatingSystems: ['linux'], architectures: ['amd64', 'arm64'] }),
  ecs: z
    .strictObject({
      cpu: z.number().int().positive().default(256),
      memory: z.number().int().positive().default(512),
      /** DAEMON services: 0 would stop every sensor of the cluster at once during an update. */
      minimumHealthyPercent: z.number().int().min(1).max(99).default(50),
      /** Task execution role (in each target account) that may read the activation secret. */
      executionRoleName: z.string().min(1).default('sensorfleet-qualys-sensor-execution'),
    })
    .default({ cpu: 256, memory: 512, minimumHealthyPercent: 50, executionRoleName: 'sensorfleet-qualys-sensor-execution' }),
}));
export type SensorConfig = z.infer<typeof sensorSchema>;

/** sensorSchema.parse({}), written out (test/unit/config-defaults.test.ts keeps the two equal). */
export const SENSOR_DEFAULTS: SensorConfig = {
  image: 'qualys/qcs-sensor',
  version: '1.34.1-0',
  imagePullPolicy: 'IfNotPresent',
  containerRuntime: 'containerd',
  args: ['--registry-sensor', '--enable-console-logs'],
  resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
  namespace: 'qualys-sensor',
  tolerations: [
    { operator: 'Exists', effect: 'NoSchedule' },
    { operator: 'Exists', effect: 'NoExecute' },
  ],
  priorityClassName: 'system-node-critical',
  maxUnavailable: '10%',
  qualysPlatform: 'US2',
  nodeSelection: { operatingSystems: ['linux'], architectures: ['amd64', 'arm64'] },
  ecs: { cpu: 256, memory: 512, minimumHealthyPercent: 50, executionRoleName: 'sensorfleet-qualys-sensor-execution' },
};

/** Where the activation and customer ids come from. The secret holds JSON {activationId, customerId}. */
export const credentialsSchema = z.strictObject({
  secretsManagerSecretId: z.string().min(1).default('sensorfleet/qualys-activation'),
  /** ARN used in ECS task definition `secrets`; defaults to the secret id resolved per account/region. */
  secretArn: z.string().optional(),
});

export { awsTargetSchema, type AwsTarget } from '../platforms/aws/config';

export const maintenanceWindowSchema = z.strictObject({
  /** Cluster reference glob, e.g. "aws-eks:*:eu-west-1:*". */
  clusters: z.string().default('*'),
  /** Days of week 0 (Sunday) to 6; empty means every day. */
  days: z.array(z.number().int().min(0).max(6)).default([]),
  start: z.string().regex(/^\d{2}:\d{2}$/),
  end: z.string().regex(/^\d{2}:\d{2}$/),
  /** Checked here: an unknown zone would make every work item's window check throw. */
  timeZone: z.string().refine(isIanaTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
});

function isIanaTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const rolloutSchema = z.strictObject({
  /** Seconds a rollout may take before it is reported as stuck. */
  deadlineSeconds: z.number().int().positive().default(600),
  /** Seconds between looks at a rollout under way: the CLI polls this often; the worker returns the item to the queue for this long (at least 1 s) instead of waiting. */
  pollSeconds: z.number().positive().default(5),
  /** Seconds a new cluster may stay CREATING before its enrollment is recorded as failed. */
  readinessDeadlineSeconds: z.number().int().positive().default(3600),
  readinessPollSeconds: z.number().int().positive().default(60),
  /** Attempts for a work item that fails with an error before it goes to the DLQ. */
  maxAttempts: z.number().int().positive().default(5),
  /** First retry delay of a failed work item; doubles per attempt (max 900 s, the SQS limit is 12 h). */
  retryBackoffSeconds: z.number().int().positive().default(30),
  /**
   * Blast-radius guard: a run that would replace the running sensor on more than max(percent % of its
   * clusters, minClusters) clusters stops before changing anything unless forced.
   */
  blastRadius: z
    .strictObject({
      percent: z.number().min(0).max(100).default(25),
      minClusters: z.number().int().min(0).default(1),
    })
    .optional(),
  /** The old name of blastRadius.percent (with minClusters 1); still read. */
  blastRadiusPercent: z.number().min(0).max(100).optional(),
  /** Clusters changed concurrently in a run. */
  concurrency: z.number().int().positive().default(8),
  maintenanceWindows: z.array(maintenanceWindowSchema).default([]),
  /**
   * Health gate between waves: every node of the wave's clusters has a sensor that checked in to
   * Qualys at the desired version (Qualys CS API), waited for up to deadlineSeconds.
   */
  checkInGate: z
    .strictObject({
      enabled: z.boolean().default(false),
      deadlineSeconds: z.number().int().positive().default(900),
      pollSeconds: z.number().positive().default(30),
    })
    .default({ enabled: false, deadlineSeconds: 900, pollSeconds: 30 }),
  /**
   * Rings of a version rollout (nightly): the canary ring (clusters whose reference matches one of these
   * globs; the first cluster when none does), then rings holding these cumulative shares (percent) of the
   * rest, the last one 100. A ring advances when each of its clusters runs the new version on every node
   * before the rollout deadline, its sensors checked in to Qualys (checkInGate, when enabled) and no sensor
   * pod restarted more than maxRestarts times.
   */
  rings: z
    .strictObject({
      canary: z.array(z.string().min(1)).default([]),
      shares: z
        .array(z.number().positive().max(100))
        .min(1)
        .default([25, 100])
        .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!) && s.at(-1) === 100, 'cumulative shares in percent, increasing, the last one 100'),
      maxRestarts: z.number().int().min(0).default(3),
      /**
       * Clusters per chunk of a ring (shared/rollout/run-limits.ts): each chunk is one fleet-table item and
       * one child execution of the workflow's Distributed Map; 100 keeps both far inside AWS's limits at 10,000 clusters.
       */
      chunkSize: z.number().int().min(1).max(500).default(100),
    })
    .default({ canary: [], shares: [25, 100], maxRestarts: 3, chunkSize: 100 }),
  /** The rollout workflow (serverless.yml RolloutStateMachine) `sensorfleet reconcile` starts runs on; else env SENSORFLEET_STATE_MACHINE_ARN. */
  stateMachineArn: z.string().min(1).optional(),
})
  .superRefine((r, ctx) => {
    if (r.blastRadius && r.blastRadiusPercent !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['blastRadiusPercent'], message: 'give rollout.blastRadius { percent, minClusters } or its old form rollout.blastRadiusPercent, not both' });
    }
  })
  .transform(({ blastRadius, blastRadiusPercent, ...rollout }) => ({ ...rollout, blastRadius: blastRadius ?? { percent: blastRadiusPercent ?? 25, minClusters: 1 } }));

export const configSchema = z.strictObject({
  // a fresh copy per configuration: nothing a caller changes in one leaks into the next
  sensor: sensorSchema.default(() => structuredClone(SENSOR_DEFAULTS)),
  credentials: credentialsSchema.default(credentialsSchema.parse({})),
  skipTag: z.strictObject({ key: z.string(), value: z.string() }).default({ key: 'qualys-sensor', value: 'disabled' }),
  targets: z
    .strictObject({
      aws: z.array(awsTargetSchema).default([]),
      azure: z.array(azureTargetSchema).default([]),
      gcp: z.array(gcpTargetSchema).default([]),
    })
    .default({ aws: [], azure: [], gcp: [] }),
  rollout: rolloutSchema.default(rolloutSchema.parse({})),
  state: z.strictObject({ tableName: z.string().min(1) }).default({ tableName: 'sensorfleet' }),
  queue: z
    .strictObject({ url: z.string().optional(), dlqUrl: z.string().optional() })
    .default({}),
  /** Qualys CS API and hygiene (issue 3); the schema lives with the Qualys module. */
  qualys: qualysConfigSchema.default(() => structuredClone(QUALYS_DEFAULTS)),
  /** Event Grid and Pub/Sub push authentication for on-webhook (issue 8); the schema lives with the webhooks. */
  webhooks: webhooksConfigSchema.default(WEBHOOKS_DEFAULT),
});
export type SensorfleetConfig = z.infer<typeof configSchema>;
