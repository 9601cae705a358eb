/**
 * Every `sensorfleet` command as data: its flags (what the parser accepts — nothing else is), what
 * each one does, an example and the exit codes. `help`, `COMMAND --help` and the README's CLI
 * section are rendered from this table (help.ts), and every command parses its arguments from it
 * (args.ts), so a flag cannot exist without being documented.
 */

export interface FlagSpec {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** Placeholder in help, e.g. REF, FILE. */
  readonly value?: string;
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly required?: boolean;
  readonly description: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
}

export interface ExitCodeSpec {
  readonly code: number;
  readonly meaning: string;
}

export interface CommandSpec {
  /** One or two words: `plan`, `event normalize`. */
  readonly name: string;
  readonly summary: string;
  /** Paragraphs shown by `help COMMAND`. */
  readonly description: readonly string[];
  readonly positionals?: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  readonly examples: readonly { readonly command: string; readonly note?: string }[];
  readonly exitCodes: readonly ExitCodeSpec[];
}

const config = {
  name: 'config',
  type: 'string',
  value: 'FILE',
  description: 'configuration file (YAML or JSON); default $SENSORFLEET_CONFIG_FILE, else inline JSON in $SENSORFLEET_CONFIG',
} as const;
const quiet = { name: 'quiet', short: 'q', type: 'boolean', description: 'no progress lines on stderr (they are only shown on a terminal anyway)' } as const;
const output = { name: 'output', short: 'o', type: 'string', value: 'FORMAT', choices: ['table', 'json', 'yaml'], default: 'table', description: 'output format' } as const;
const json = { name: 'json', type: 'boolean', description: 'same as -o json' } as const;
const clusters = {
  name: 'cluster',
  type: 'string',
  value: 'REF',
  multiple: true,
  description: 'cluster reference (repeatable); default: every cluster discovered in the configured accounts, subscriptions and projects',
} as const;

const RUN_EXIT = [
  { code: 0, meaning: 'every cluster reached is converged, in sync or skipped by its tag' },
  { code: 1, meaning: 'a cluster failed, is stuck or was not found, a wave was held, discovery of a scope failed, or no cluster was found' },
  { code: 2, meaning: 'usage or configuration error' },
] as const;

export const COMMANDS = [
  {
    name: 'plan',
    summary: 'dry run: per cluster and object, what would change (a diff) and why',
    description: [
      'Observes each cluster and prints what a reconcile would do, as a diff: `+` an object to create, `~` one to update (with each field path and its old → new value), `-` one to delete, `!` a finding that is never changed automatically (objects not managed by sensorfleet, foreign edits). Secret values are never shown, only that they change. Nothing is written to the fleet or to the fleet table.',
      'The last line sums it up, e.g. "2 clusters to change: 1 object to create, 3 to update; 14 in sync". Colour is used on a terminal only, and never when NO_COLOR is set.',
    ],
    flags: [
      clusters,
      output,
      json,
      { name: 'exit-code', type: 'boolean', description: 'exit 0 when nothing is to be done, 1 when changes are pending, 3 when something failed (like `kubectl diff`)' },
      { name: 'no-record', type: 'boolean', description: 'open no fleet table at all (a plan never records; this lets a reconcile command line be turned into a plan by changing the verb)' },
      config,
      quiet,
    ],
    examples: [
      { command: 'sensorfleet plan --cluster aws-eks:111122223333:eu-west-1:payments', note: 'one cluster' },
      { command: 'sensorfleet plan --exit-code -o json > plan.json', note: 'the whole fleet, for a pipeline: exit 1 means changes are pending' },
    ],
    exitCodes: [
      { code: 0, meaning: 'planned (with --exit-code: nothing to change)' },
      { code: 1, meaning: 'a cluster failed or was not found, discovery of a scope failed, or no cluster was found (with --exit-code: changes pending)' },
      { code: 2, meaning: 'usage or configuration error' },
      { code: 3, meaning: 'with --exit-code: a cluster failed or was not found, discovery of a scope failed, or no cluster was found' },
    ],
  },
  {
    name: 'reconcile',
    summary: 'the whole fleet: start a rollout run through the rings; with --cluster, those clusters now',
    description: [
      'Without --cluster: discovers the fleet and starts a durable rollout run, the one the nightly starts: ring by ring (rollout.rings; no ring replaces more running sensors than rollout.blastRadius allows, a larger one is split), each ring gated, on the rollout workflow (rollout.stateMachineArn or $SENSORFLEET_STATE_MACHINE_ARN: the stack\'s RolloutStateMachine; the work queue from queue.url or $SENSORFLEET_QUEUE_URL). Nothing is reconciled in this process: it prints the run id; follow it with `sensorfleet rollout status RUN`. While another run is running or halted, no run starts (exit 1, naming it).',
      'With --cluster: assesses those clusters once, then applies in waves of growing size (one canary, then 10%, 25%, 50% of the rest, then the remainder); a failed or stuck cluster, or a failing health gate, holds the waves after it. Each cluster is verified node by node and recorded in the fleet table. A run that would replace the running sensor on more clusters than rollout.blastRadius allows (percent of the clusters, never fewer than minClusters) stops before changing anything (the blast-radius guard; `plan` warns when it would); clusters in a maintenance window are held. Progress (waves, rollout waits with nodes updated/total) is shown on stderr on a terminal.',
      '--force runs the clusters (without --cluster: the whole fleet) in this process past the rings, the blast-radius guard and maintenance windows; every record says who forced it, and each cluster\'s release is recorded as forced so later events keep it at this version.',
    ],
    flags: [
      clusters,
      { name: 'force', type: 'boolean', description: 'in this process, past the rollout rings, the blast-radius guard and maintenance windows (recorded as forced)' },
      { name: 'no-record', type: 'boolean', description: 'write no run records and no inventory to the fleet table' },
      output,
      json,
      config,
      quiet,
    ],
    examples: [
      { command: 'sensorfleet reconcile', note: 'the whole fleet, through the rings: prints the run id to follow' },
      { command: 'sensorfleet reconcile --cluster aws-ecs:111122223333:us-east-1:batch' },
      { command: 'sensorfleet reconcile --force', note: 'the whole fleet now, in this process, past the rings and the blast-radius guard' },
    ],
    exitCodes: [
      { code: 0, meaning: 'without --cluster: the rollout run started; with it: every cluster reached is converged, in sync or skipped by its tag' },
      { code: 1, meaning: 'another rollout run is running or halted, a cluster failed, is stuck or was not found, a wave was held, discovery of a scope failed, or no cluster was found' },
      { code: 2, meaning: 'usage or configuration error (whole fleet: no rollout workflow or work queue configured)' },
    ],
  },
  {
    name: 'status',
    summary: 'the fleet table: versions, ring, coverage, drift and problems per cluster; with --cluster, its recent reconciles',
    description: [
      'Reads the fleet table: per cluster its platform, scope (AWS account, Azure subscription, GCP project), location/name, desired and running sensor version, ring in the active (else the last) rollout run ("(waiting)" until the ring is released), nodes covered/total, drift (what the last reconcile found different: "runs 1.34.1-0", "3 corrected", "2 to apply", "1 not ours"), last reconcile, last change (the last reconcile that wrote) and the problem, if any. Filters combine (each repeatable: any of its values); --json/-o yaml print the same rows as documents.',
      'With --cluster, the nodes that are not covered and the last ten reconciles (trigger, reason, outcome, writes).',
    ],
    flags: [
      { name: 'cluster', type: 'string', value: 'REF', description: 'one cluster, with its uncovered nodes and recent reconciles' },
      { name: 'platform', type: 'string', value: 'PLATFORM', multiple: true, description: 'only this platform: aws-ecs, aws-eks, azure-aks, gcp-gke, or a cloud (aws, azure, gcp)' },
      { name: 'scope', type: 'string', value: 'ID', multiple: true, description: 'only this AWS account, Azure subscription or GCP project' },
      { name: 'status', type: 'string', value: 'STATUS', multiple: true, description: 'only clusters whose last outcome is STATUS (in-sync, converged, degraded, held, stuck, failed, …), or "problem" / "ok"' },
      { name: 'ring', type: 'string', value: 'RING', multiple: true, description: 'only clusters in this ring (number or name, e.g. 0 or canary) of the active or last rollout run' },
      { name: 'sort', type: 'string', value: 'COLUMN', choices: ['cluster', 'platform', 'scope', 'desired', 'running', 'ring', 'nodes', 'coverage', 'drift', 'status', 'last-reconcile', 'last-change', 'problem'], default: 'cluster', description: 'sort by this column (coverage: lowest first; times: newest first; problem and drift: affected first)' },
      { name: 'check-in', type: 'boolean', description: "also ask Qualys (CS API) whether each node's sensor checked in at the desired version" },
      output,
      json,
      config,
      quiet,
    ],
    examples: [
      { command: 'sensorfleet status' },
      { command: 'sensorfleet status --status problem --sort coverage', note: 'what needs attention, least covered first' },
      { command: 'sensorfleet status --platform aws --ring canary --json' },
      { command: 'sensorfleet status --check-in', note: 'inventory plus Qualys check-in per node' },
      { command: 'sensorfleet status --cluster aws-eks:111122223333:eu-west-1:payments' },
    ],
    exitCodes: [
      { code: 0, meaning: 'printed' },
      { code: 1, meaning: 'no record of the cluster, or the fleet table or Qualys could not be read' },
      { code: 2, meaning: 'usage or configuration error' },
    ],
  },
  {
    name: 'report',
    summary: "a rollout run's report: JSON and a self-contained HTML page",
    description: [
      'Builds the report of a rollout run from the fleet table (the worker writes the same report when a run halts or finishes: to S3 in a deployment, $SENSORFLEET_REPORTS_BUCKET): coverage by platform and by ring (an inline SVG chart), the rings and their gates, the run\'s timeline (its history and the reconciles made while it was open) and the clusters and nodes that need attention, with their reasons. Writes DIR/runs/RUN/STATUS.json and .html and prints their paths; with --json prints the report instead. The page loads nothing from anywhere (no script, font, style or image outside it).',
    ],
    positionals: [{ name: 'RUN', description: 'the run id; default the active run, else the last one' }],
    flags: [
      { name: 'dir', type: 'string', value: 'DIR', default: 'sensorfleet-reports', description: 'where to write the two files' },
      json,
      config,
    ],
    examples: [
      { command: 'sensorfleet report run-20261201-3f9a1c2b7d40' },
      { command: 'sensorfleet report --json', note: 'the active or last run, as JSON on stdout' },
    ],
    exitCodes: [
      { code: 0, meaning: 'written (or printed)' },
      { code: 1, meaning: 'no such run, no run at all, or the fleet table could not be read' },
      { code: 2, meaning: 'usage or configuration error' },
    ],
  },
  {
    name: 'redeploy',
    summary: 'on-call forced redeploy of one cluster or a selection; reason and outcome recorded',
    description: [
      'Queues a restart (pods/tasks rolled, spec unchanged) or a redeploy (every object re-applied, then the restart) so the worker runs it in order with other work for that cluster. With --now it runs here and waits for the outcome. Either way who asked ($SENSORFLEET_USER or the login name), the reason and the outcome are recorded.',
    ],
    flags: [
      { name: 'cluster', type: 'string', value: 'REF', description: 'the cluster (give this or --selector)' },
      { name: 'selector', type: 'string', value: 'GLOB', description: 'every discovered cluster whose reference matches, e.g. "aws-eks:*:eu-west-1:*"' },
      { name: 'reason', type: 'string', value: 'TEXT', required: true, description: 'why: ticket, who asked (recorded with the outcome)' },
      { name: 'action', type: 'string', value: 'ACTION', choices: ['restart', 'redeploy'], default: 'restart', description: 'restart rolls the sensor; redeploy re-applies every object first' },
      { name: 'now', type: 'boolean', description: 'run here and wait for the outcome instead of queueing it ($SENSORFLEET_QUEUE_URL)' },
      output,
      json,
      config,
      quiet,
    ],
    examples: [
      { command: 'sensorfleet redeploy --cluster aws-eks:111122223333:eu-west-1:payments --reason "INC-1234 sensor hung" --now' },
      { command: 'sensorfleet redeploy --selector "aws-ecs:*:us-east-1:*" --action redeploy --reason "CHG-88 new activation id"' },
    ],
    exitCodes: [
      { code: 0, meaning: 'queued, or (--now) every cluster converged or is in sync' },
      { code: 1, meaning: 'not queued, or (--now) a cluster failed, is stuck or was not found' },
      { code: 2, meaning: 'usage error: no reason, both or neither of --cluster/--selector, a selector that matches nothing, no queue configured' },
    ],
  },
  {
    name: 'rollout',
    summary: 'a rollout run: its rings and gates (status), or the answer to a halted run (resume, abort)',
    description: [
      'A version rollout (the nightly run) goes ring by ring: the canary ring, then shares of the rest (rollout.rings). A ring advances when each of its clusters runs the new version on every node before the rollout deadline, its sensors checked in to Qualys (rollout.checkInGate) and no sensor pod restarted more than rollout.rings.maxRestarts times. A failed ring halts the run with the reason; every cluster of a ring not yet released keeps its version on every path (events, nightly, redeploy).',
      '`rollout status RUN` prints the run: its state, each ring with its clusters, results and gate, why it halted, and its history; without RUN the recent runs. `rollout resume RUN` runs the halted ring again (after its cause was fixed); `rollout abort RUN` ends the run. Who answered ($SENSORFLEET_USER or the login name) is recorded in the run\'s history.',
    ],
    positionals: [
      { name: 'ACTION', description: 'status, resume or abort', required: true },
      { name: 'RUN', description: 'the run id (the nightly function logs it; `rollout status` lists recent runs)' },
    ],
    flags: [output, json, config],
    examples: [
      { command: 'sensorfleet rollout status', note: 'recent runs' },
      { command: 'sensorfleet rollout status run-20261201-3f9a1c2b7d40' },
      { command: 'sensorfleet rollout resume run-20261201-3f9a1c2b7d40', note: 'after the canary crash loop was fixed' },
    ],
    exitCodes: [
      { code: 0, meaning: 'printed (a running or finished run), or answered' },
      { code: 1, meaning: 'the run is halted or failed (status), is not halted (resume, abort), or does not exist' },
      { code: 2, meaning: 'usage or configuration error' },
    ],
  },
  {
    name: 'event normalize',
    summary: 'canonical cluster events of a raw payload, as one JSON array',
    description: [
      'Reads a raw payload (EventBridge, CloudTrail, an SQS batch, Event Grid, CloudEvents, a Pub/Sub push) and prints its canonical events ({id, time, kind, cluster, source, detail}) as one JSON array; a payload that is not a cluster event prints []. An ASG launch names a group, not a cluster: it is listed on stderr, or resolved through the group\'s tags with --resolve-asg.',
    ],
    positionals: [{ name: 'FILE', description: 'the payload, or - for stdin', required: true }],
    flags: [{ name: 'resolve-asg', type: 'boolean', description: 'resolve ASG launches to their cluster through DescribeAutoScalingGroups (needs AWS access)' }],
    examples: [
      { command: 'sensorfleet event normalize events/aws/eventbridge-eks-createcluster.json' },
      { command: 'cat events/aws/eventbridge-asg-launch.json | sensorfleet event normalize - --resolve-asg' },
    ],
    exitCodes: [
      { code: 0, meaning: 'printed (maybe [])' },
      { code: 2, meaning: 'malformed payload (one line on stderr), unreadable file or usage error' },
    ],
  },
  {
    name: 'qualys sync',
    summary: 'registry scan schedules as declared; stale sensors purged (Qualys CS API)',
    description: [
      'Creates, updates and deletes the registry scan schedules sensorfleet owns (name prefix qualys.schedules.namePrefix) to match the configuration, and deletes sensors that are UNKNOWN, silent for qualys.staleSensors.olderThanDays and whose host is not a live node. Live nodes come from the fleet inventory or from --live-hosts; without them the purge is skipped.',
    ],
    flags: [
      { name: 'dry-run', type: 'boolean', description: 'plan only: change nothing in Qualys' },
      { name: 'live-hosts', type: 'string', value: 'FILE', description: 'live node/host names, one a line, instead of the fleet inventory' },
      output,
      json,
      config,
      quiet,
    ],
    examples: [
      { command: 'sensorfleet qualys sync --dry-run' },
      { command: 'sensorfleet qualys sync --live-hosts hosts.txt' },
    ],
    exitCodes: [
      { code: 0, meaning: 'synced (or planned)' },
      { code: 1, meaning: 'a part failed (listed on stderr)' },
      { code: 2, meaning: 'usage or configuration error' },
    ],
  },
  {
    name: 'invoke',
    summary: 'run a function\'s bundled handler locally with an event file',
    description: [
      'Bundles functions/FUNCTION.ts exactly as `serverless package` does (esbuild, serverless.yml custom.esbuild) and invokes its handler in a child process with the event and a Lambda-shaped context, against the environment of this shell (e.g. the sandbox\'s exports: AWS_ENDPOINT_URL, SENSORFLEET_QUEUE_URL, SENSORFLEET_TABLE, SENSORFLEET_IDEMPOTENCY_TABLE). The handler\'s logs go to stderr, its result to stdout as JSON. Works offline: nothing is resolved from a deployed stack.',
    ],
    positionals: [{ name: 'FUNCTION', description: 'a function of serverless.yml: on-aws-event, reconcile-worker, nightly, redeploy, qualys-hygiene', required: true }],
    flags: [
      { name: 'event', type: 'string', value: 'FILE', required: true, description: 'the event, as JSON (events/ holds samples), or - for stdin' },
      { name: 'config', type: 'string', value: 'FILE', description: 'configuration file (YAML or JSON) handed to the function as SENSORFLEET_CONFIG; default: the environment\'s' },
    ],
    examples: [
      { command: 'sensorfleet invoke on-aws-event --event events/aws/eventbridge-eks-createcluster.json --config events/sample-targets.yaml', note: 'queues a cluster-created work item (the sample\'s account is a target there)' },
      { command: 'sensorfleet invoke reconcile-worker --event events/aws/sqs-work-item.json', note: "a work item as the work queue delivers it (reconciles the sandbox's web-eks)" },
    ],
    exitCodes: [
      { code: 0, meaning: 'the handler returned (its result is on stdout)' },
      { code: 1, meaning: 'the handler threw (its error is on stderr)' },
      { code: 2, meaning: 'unknown function, unreadable event or usage error' },
    ],
  },
  {
    name: 'webhook serve',
    summary: 'serve the on-webhook handler (Event Grid, Pub/Sub push) on 127.0.0.1 against the work queue',
    description: [
      'Runs the same handler as the on-webhook function on 127.0.0.1: Event Grid at webhooks.eventGrid.path (default /azure/event-grid) and Pub/Sub push at webhooks.pubsub.path (default /gcp/pubsub), authenticated as configured (Entra token or shared secret; OIDC token), queueing to $SENSORFLEET_QUEUE_URL or queue.url. Point a tunnel or a test at it. One line per delivery on stderr (never a header, query string or token); Ctrl-C stops it.',
    ],
    flags: [{ name: 'port', type: 'string', value: 'N', default: '8787', description: 'port on 127.0.0.1 (0: any free port, printed)' }, config],
    examples: [{ command: 'sensorfleet webhook serve --port 8787 --config sensorfleet.yaml', note: 'then e.g. a tunnel to http://127.0.0.1:8787' }],
    exitCodes: [
      { code: 0, meaning: 'stopped with Ctrl-C' },
      { code: 1, meaning: 'the port could not be opened' },
      { code: 2, meaning: 'usage or configuration error (no webhook or no queue configured)' },
    ],
  },
  {
    name: 'sandbox',
    summary: 'start the local sandbox and keep it running (for kubectl, the AWS CLI and every command)',
    description: [
      'Starts moto, the AWS front, the ECS scheduler, the Kubernetes API server and the Qualys stand-in on 127.0.0.1, prints the exports for another shell (the AWS CLI, kubectl and sensorfleet accept them as they are) and runs until Ctrl-C.',
      "It creates the stack's table and queues (from serverless.yml) and the activation secret; `--fleet demo` adds the demo's ECS, EKS, AKS and GKE clusters, not yet enrolled (start with `sensorfleet plan`), and stale sensors in Qualys. As in a deployment, what lands on the work queue (`redeploy` without --now, `invoke on-aws-event`, rollout rings) is handled by the bundled reconcile-worker, in the sandbox's process, and `reconcile` without --cluster starts a run on the stack's rollout workflow (Step Functions, moto's executor). It writes a kubeconfig with one context per Kubernetes cluster (credentials from `sensorfleet sandbox token`, which kubectl runs as needed), the configuration (sensorfleet.yaml) and the exports (env.sh, to source) under .sandbox/session/, or $SENSORFLEET_SANDBOX_DIR. An EKS cluster created with `aws eks create-cluster` gets a local endpoint and a context too.",
    ],
    flags: [{ name: 'fleet', type: 'string', value: 'FLEET', choices: ['demo', 'empty'], default: 'demo', description: 'seed the demo fleet (clusters, table, queues, activation secret), or start empty' }],
    examples: [{ command: 'sensorfleet sandbox', note: 'then, in another shell, the printed exports' }],
    exitCodes: [
      { code: 0, meaning: 'stopped with Ctrl-C' },
      { code: 1, meaning: 'the sandbox could not start (e.g. moto_server is not installed)' },
    ],
  },
  {
    name: 'sandbox token',
    summary: "the sandbox kubeconfig's credential plugin: an ExecCredential for one cluster",
    description: [
      'kubectl runs this itself: the kubeconfig that `sensorfleet sandbox` writes names it as the exec credential plugin of every context, so credentials refresh themselves. For an EKS cluster it prints an aws-iam-authenticator token (a presigned STS GetCallerIdentity URL for the cluster, signed with the AWS credentials in the environment, valid for a minute) as client.authentication.k8s.io/v1 ExecCredential JSON.',
    ],
    flags: [{ name: 'cluster', type: 'string', value: 'REF', required: true, description: 'the cluster reference, e.g. aws-eks:123456789012:us-east-1:web-eks' }],
    examples: [{ command: 'sensorfleet sandbox token --cluster aws-eks:123456789012:us-east-1:web-eks' }],
    exitCodes: [
      { code: 0, meaning: 'printed' },
      { code: 1, meaning: 'no credential could be made (no AWS credentials in the environment, or a platform the sandbox has no plugin for)' },
      { code: 2, meaning: 'usage error or an invalid cluster reference' },
    ],
  },
  {
    name: 'demo',
    summary: 'the end-to-end demo against a local sandbox',
    description: [
      'Starts a sandbox, sends real-shaped cluster events through the on-aws-event handler and the FIFO queue to the reconcile worker, and prints the fleet converging; then adds nodes, reconciles again (nothing written) and runs the Qualys sync against the Qualys stand-in.',
    ],
    flags: [
      { name: 'json', type: 'boolean', description: 'print the run as one JSON document' },
      { name: 'verbose', type: 'boolean', description: "show the functions' own logs" },
    ],
    examples: [{ command: 'sensorfleet demo' }],
    exitCodes: [
      { code: 0, meaning: 'every step did what it should' },
      { code: 1, meaning: 'a step failed (the report says which)' },
    ],
  },
  {
    name: 'help',
    summary: 'this overview, or one command\'s flags, example and exit codes',
    description: ['`sensorfleet COMMAND --help` prints the same as `sensorfleet help COMMAND`.'],
    positionals: [{ name: 'COMMAND', description: 'a command, e.g. plan or "qualys sync"' }],
    flags: [{ name: 'markdown', type: 'boolean', description: "print the README's CLI section (Markdown), generated from this help" }],
    examples: [{ command: 'sensorfleet help plan' }],
    exitCodes: [
      { code: 0, meaning: 'printed' },
      { code: 2, meaning: 'unknown command' },
    ],
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]['name'];
export type CommandSpecOf<N extends CommandName> = Extract<(typeof COMMANDS)[number], { name: N }>;

export function commandSpec<N extends CommandName>(name: N): CommandSpecOf<N> {
  return COMMANDS.find((c) => c.name === name) as CommandSpecOf<N>;
}

/** The command an argument list starts with (`qualys sync ...` is one command), and the rest. */
export function findCommand(argv: readonly string[]): { spec: CommandSpec; rest: string[] } | undefined {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { spec: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === argv[0] && !c.name.includes(' '));
  return one ? { spec: one, rest: argv.slice(1) } : undefined;
}

export const CLUSTER_REFERENCES = [
  'aws-ecs:<account>:<region>:<name>',
  'aws-eks:<account>:<region>:<name>',
  'azure-aks:<subscription>:<resource-group>:<name>',
  'gcp-gke:<project>:<location>:<name>',
] as const;
