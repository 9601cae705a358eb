import { readFile } from 'node:fs/promises';
import { normalizeRecords } from '../../events/normalize';
import { errorMessage } from '../../runtime/errors';
import { runCommand } from '../args';
import { EXIT, println, type CliIo } from '../io';
import { commandSpec } from '../spec';

/**
 * `event normalize <file|-> [--resolve-asg]`: the canonical events of a raw payload as ONE JSON
 * array on stdout (`[]` when the payload is not a cluster event); malformed input exits 2 with a
 * one-line reason on stderr. An ASG launch names a group, not a cluster: it is listed on stderr,
 * or resolved through DescribeAutoScalingGroups with --resolve-asg (needs AWS access).
 */
export function eventNormalizeCommand(args: string[], io: CliIo): Promise<number> {
  return runCommand(commandSpec('event normalize'), args, io, async ({ values, positionals }) => {
    const source = positionals[0]!;
    let text: string;
    try {
      text = source === '-' ? await readAll(io.stdin) : await readFile(source, 'utf8');
    } catch (err) {
      println(io.stderr, `cannot read ${source}: ${errorMessage(err)}`);
      return EXIT.usage;
    }
    const records = normalizeRecords(text);
    const bad = records.find((r) => r.error);
    if (bad?.error) {
      println(io.stderr, bad.error.message.replace(/\s*\n\s*/g, ' '));
      return EXIT.usage;
    }
    const events = records.flatMap((r) => r.events);
    for (const p of records.flatMap((r) => r.pending)) {
      if (!values['resolve-asg']) {
        println(io.stderr, `${p.id}: ASG launch of ${p.instanceId} in group ${p.asgName} (${p.account}/${p.region}) names no cluster; --resolve-asg reads the group's tags`);
        continue;
      }
      const { resolveAsgLaunch } = await import('../../events/resolve-asg');
      const out = await resolveAsgLaunch(p);
      if (out.ok) events.push(out.event);
      else println(io.stderr, `${p.id}: ${out.reason}`);
    }
    println(io.stdout, JSON.stringify(events, null, 2));
    return EXIT.ok;
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
