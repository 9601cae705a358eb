import { parseClusterRef } from '../../domain/cluster-ref';
import { runCommand } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { commandSpec } from '../spec';

/**
 * `sandbox [--fleet demo|empty]`: the local sandbox a person uses by hand (test/sandbox/session.ts), kept
 * up until Ctrl-C. The sandbox lives in test/sandbox (shared by the tests and the demo); it is loaded here only.
 */
export async function sandboxCommand(args: string[], io: CliIo): Promise<number> {
  const rerun = await (await import('../../../test/sandbox/trust')).rerunTrustingSandboxCa();
  if (rerun !== undefined) return rerun;
  return runCommand(commandSpec('sandbox'), args, io, async ({ values }) => {
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    // One handler from the start to the end: Ctrl-C while starting stops right after the start, and a
    // second signal (the terminal's and the forwarding parent's) changes nothing.
    let requestStop!: () => void;
    const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
    process.on('SIGINT', requestStop);
    process.on('SIGTERM', requestStop);
    try {
      println(io.stderr, `starting the sandbox (${values.fleet === 'demo' ? 'demo fleet' : 'no clusters'}): moto_server, AWS front, ECS scheduler, Kubernetes API server, Qualys stand-in …`);
      const { startSandboxSession, exportLines } = await import('../../../test/sandbox/session');
      const session = await startSandboxSession({ fleet: values.fleet === 'empty' ? 'empty' : 'demo', log: (line) => println(io.stderr, line) });
      printSession(io, session, exportLines);
      await stopRequested;
      println(io.stderr, 'stopping the sandbox …');
      await session.stop();
      return EXIT.ok;
    } finally {
      process.off('SIGINT', requestStop);
      process.off('SIGTERM', requestStop);
    }
  });
}

type Session = Awaited<ReturnType<typeof import('../../../test/sandbox/session').startSandboxSession>>;

function printSession(io: CliIo, s: Session, exportLines: (e: Record<string, string>) => string[]): void {
  const out = (line = '') => println(io.stdout, line);
  const contexts = s.contexts();
  out('sandbox running. In another shell:');
  out();
  out(`  source ${s.files.env}`);
  out();
  out('or paste these (the AWS CLI, kubectl and sensorfleet take them as they are):');
  for (const line of exportLines(s.exports)) out(`  ${line}`);
  out();
  if (s.clusters.length > 0) {
    out('clusters:');
    const width = Math.max(...s.clusters.map((c) => c.ref.length));
    for (const c of s.clusters) {
      const ctx = contexts.get(c.ref);
      out(`  ${c.ref.padEnd(width)}  ${c.note}${ctx ? `  (kubectl --context ${ctx})` : ''}`);
    }
    out();
  }
  out(`kubeconfig:    ${s.files.kubeconfig} (credentials from \`sensorfleet sandbox token\`; EKS clusters you create get a context too)`);
  out(`configuration: ${s.files.config} (the same as $SENSORFLEET_CONFIG)`);
  out(`Qualys:        ${s.qualys.fake.url} (API credentials in Secrets Manager secret ${s.qualys.secretId})`);
  out();
  out(`webhooks:      \`npx sensorfleet webhook serve\`: Event Grid at /azure/event-grid?code=SECRET (SECRET: Secrets Manager secret ${s.webhookSecretId})`);
  out('work queue:    handled here by the bundled reconcile-worker (as the stack\'s event source mapping); rollout runs on the stack\'s workflow');
  out();
  // npx: a fresh clone has no `sensorfleet` on the PATH
  out('try (from this checkout):');
  const { accountId, region } = s.sandbox.aws;
  const tries = [
    'npx sensorfleet plan',
    'npx sensorfleet reconcile    # a rollout run through the rings; follow it:',
    'npx sensorfleet rollout status',
    ...(contexts.size > 0 ? ['kubectl rollout status daemonset/qualys-container-sensor -n qualys-sensor', 'kubectl get pods -n qualys-sensor -o wide', 'kubectl get events -n qualys-sensor'] : []),
    'npx sensorfleet status --check-in',
    'npx sensorfleet qualys sync',
    'aws ecs list-clusters',
    // AWS CLI v1 sends sqs (and emr) to their legacy hosts whatever AWS_ENDPOINT_URL says (aws/aws-cli#8737)
    'aws --endpoint-url "$AWS_ENDPOINT_URL" sqs get-queue-attributes --queue-url "$SENSORFLEET_QUEUE_URL" --attribute-names All',
    `aws eks create-cluster --name my-eks --role-arn arn:aws:iam::${accountId}:role/eks-cluster --resources-vpc-config subnetIds=subnet-0a1b2c3d`,
    `aws eks create-nodegroup --cluster-name my-eks --nodegroup-name default --node-role arn:aws:iam::${accountId}:role/eks-node --subnets subnet-0a1b2c3d --scaling-config minSize=0,maxSize=4,desiredSize=2`,
    `npx sensorfleet reconcile --cluster aws-eks:${accountId}:${region}:my-eks`,
  ];
  for (const t of tries) out(`  ${t}`);
  out();
  out('press Ctrl-C to stop');
}

/** `sandbox token --cluster REF`: the exec credential plugin the sandbox kubeconfig names (no TLS involved). */
export function sandboxTokenCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('sandbox token'), args, io, async ({ values }) => {
    parseClusterRef(values.cluster);
    const { execCredential } = await import('../../../test/sandbox/exec-credential');
    println(io.stdout, JSON.stringify(await execCredential(values.cluster)));
    return EXIT.ok;
  });
}
