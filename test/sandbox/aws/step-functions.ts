import type { IncomingMessage } from 'node:http';
import type { AwsRequestInfo } from './aws-request';
import { startMoto, type MotoServer } from './moto';

/**
 * Step Functions for the sandbox: moto's own state machine executor (toolchain.md §7), in a moto of its
 * own, behind the AWS front. Two things moto cannot do are played here, nothing else:
 *  - it runs one execution per account and region (StartExecution deep-copies the region's backend,
 *    running executions and their locks included, and answers 500): each execution runs in a "lane", a
 *    region of its own in this moto, and its ARNs are reported in the state machine's home region;
 *    task tokens (SendTaskSuccess/Failure/Heartbeat) are offered to each lane until one knows them;
 *  - its executor calls services at http://localhost:$MOTO_PORT with the fixed key "ak", signed for the
 *    lane's region: MOTO_PORT points it at the front, which re-homes those calls to the lane's home region
 *    (so a `sqs:sendMessage.waitForTaskToken` lands in the stack's own queue in the main moto).
 * Product code sees one state machine (serverless.yml's) and real Step Functions answers.
 */
const LANES = [
  'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1',
  'eu-south-2', 'ap-south-1', 'ap-south-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3',
  'ap-southeast-4', 'ap-east-1', 'sa-east-1', 'me-south-1', 'me-central-1', 'af-south-1', 'il-central-1', 'us-east-1', 'eu-west-1',
];

/** The key moto's executor signs its service calls with (moto/stepfunctions/parser/asl/utils/boto_client.py). */
const EXECUTOR_KEY = 'ak';

export interface SfnAnswer {
  status: number;
  body: string;
}

interface Machine {
  arn: string;
  region: string;
  create: Record<string, unknown>;
}

interface Lane {
  region: string;
  home: string;
  homeArn: string;
  laneArn: string;
  input: string;
  startDate: number;
  machineArn: string;
}

export class StepFunctionsLanes {
  private readonly machines = new Map<string, Machine>();
  /** By the execution ARN in its home region. */
  private readonly executions = new Map<string, Lane>();
  private readonly laneHome = new Map<string, string>();
  private readonly used = new Set<string>();
  /** Executions started, for tests and the demo. */
  started = 0;

  private constructor(private readonly moto: MotoServer) {}

  static async start(frontUrl: string): Promise<StepFunctionsLanes> {
    const moto = await startMoto({ env: { MOTO_PORT: new URL(frontUrl).port } });
    // before any state machine exists (toolchain.md §7)
    const res = await fetch(`${moto.url}/moto-api/config`, { method: 'POST', body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }) });
    await res.arrayBuffer();
    if (!res.ok) {
      await moto.stop();
      throw new Error(`moto refused the Step Functions executor setting: ${res.status}`);
    }
    return new StepFunctionsLanes(moto);
  }

  /** The executor's own call, for a lane: re-homed in place (Authorization's credential scope). Returns true if it was one. */
  adoptExecutorRequest(req: IncomingMessage, info: AwsRequestInfo): boolean {
    const by = info.signedBy;
    if (!by || by.accessKeyId !== EXECUTOR_KEY) return false;
    const home = this.laneHome.get(by.region);
    if (!home) return false;
    req.headers.authorization = String(req.headers.authorization).replace(`/${by.region}/${by.service}/`, `/${home}/${by.service}/`);
    by.region = home;
    return true;
  }

  async answer(info: AwsRequestInfo): Promise<SfnAnswer> {
    const region = info.signedBy?.region ?? 'us-east-1';
    const json = info.json ?? {};
    switch (info.operation) {
      case 'CreateStateMachine':
      case 'UpdateStateMachine':
        return this.define(region, info.operation, json);
      case 'StartExecution':
        return this.startExecution(region, json);
      case 'ListExecutions':
        return this.listExecutions(json);
      case 'SendTaskSuccess':
      case 'SendTaskFailure':
      case 'SendTaskHeartbeat':
        return this.taskAnswer(info.operation, json);
      default:
        if (typeof json.executionArn === 'string') return this.inLane(info.operation, json);
        return this.call(region, info.operation, json);
    }
  }

  stop(): Promise<void> {
    return this.moto.stop();
  }

  private async define(region: string, op: string, json: Record<string, unknown>): Promise<SfnAnswer> {
    const out = await this.call(region, op, json);
    if (out.status !== 200) return out;
    if (op === 'CreateStateMachine') {
      const arn = String(JSON.parse(out.body).stateMachineArn);
      this.machines.set(arn, { arn, region, create: json });
    } else {
      const m = this.machines.get(String(json.stateMachineArn));
      if (m) m.create = { ...m.create, ...(json.definition ? { definition: json.definition } : {}), ...(json.roleArn ? { roleArn: json.roleArn } : {}) };
    }
    return out;
  }

  private async startExecution(region: string, json: Record<string, unknown>): Promise<SfnAnswer> {
    const m = this.machines.get(String(json.stateMachineArn));
    if (!m) return this.call(region, 'StartExecution', json);
    const name = typeof json.name === 'string' ? json.name : crypto.randomUUID();
    const input = typeof json.input === 'string' ? json.input : '{}';
    const homeArn = m.arn.replace(':stateMachine:', ':execution:') + `:${name}`;
    const existing = this.executions.get(homeArn);
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: idempotent for the same name and input
    if (existing) {
      if (existing.input === input) return ok({ executionArn: homeArn, startDate: existing.startDate });
      return error(400, 'ExecutionAlreadyExists', `Execution Already Exists: '${homeArn}'`);
    }
    const lane = LANES.find((r) => r !== m.region && !this.used.has(r) && ![...this.machines.values()].some((x) => x.region === r));
    if (!lane) return error(400, 'ExecutionLimitExceeded', `sandbox: no Step Functions lane left (moto runs one execution per region; ${this.used.size} used)`);
    this.used.add(lane);
    this.laneHome.set(lane, m.region);
    const created = await this.call(lane, 'CreateStateMachine', m.create);
    if (created.status !== 200) return created;
    const laneMachine = String(JSON.parse(created.body).stateMachineArn);
    const out = await this.call(lane, 'StartExecution', { stateMachineArn: laneMachine, name, input });
    if (out.status !== 200) return out;
    const laneArn = String(JSON.parse(out.body).executionArn);
    const startDate = Date.now() / 1000;
    this.executions.set(homeArn, { region: lane, home: m.region, homeArn, laneArn, input, startDate, machineArn: m.arn });
    this.started++;
    return ok({ executionArn: homeArn, startDate });
  }

  private async inLane(op: string, json: Record<string, unknown>): Promise<SfnAnswer> {
    const lane = this.executions.get(String(json.executionArn));
    if (!lane) return error(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(json.executionArn)}'`);
    const out = await this.call(lane.region, op, { ...json, executionArn: lane.laneArn });
    return { status: out.status, body: rehome(out.body, lane) };
  }

  private async listExecutions(json: Record<string, unknown>): Promise<SfnAnswer> {
    const executions: unknown[] = [];
    for (const lane of this.executions.values()) {
      if (lane.machineArn !== json.stateMachineArn) continue;
      const out = await this.call(lane.region, 'DescribeExecution', { executionArn: lane.laneArn });
      if (out.status !== 200) continue;
      const d = JSON.parse(rehome(out.body, lane)) as Record<string, unknown>;
      if (json.statusFilter && d.status !== json.statusFilter) continue;
      executions.push({ executionArn: d.executionArn, stateMachineArn: lane.machineArn, name: d.name, status: d.status, startDate: d.startDate, ...(d.stopDate ? { stopDate: d.stopDate } : {}) });
    }
    return ok({ executions });
  }

  /** The token belongs to one lane's execution: each lane is asked, newest first, until one knows it. */
  private async taskAnswer(op: string, json: Record<string, unknown>): Promise<SfnAnswer> {
    let last: SfnAnswer = error(400, 'InvalidToken', 'Invalid token');
    for (const lane of [...this.executions.values()].reverse()) {
      const out = await this.call(lane.region, op, json);
      if (out.status === 200) return out;
      last = out;
      if (!out.body.includes('InvalidToken')) return out;
    }
    return last;
  }

  /** A Step Functions (awsJson1_0) request to the executor's moto, signed for `region` (moto checks no signature). */
  private async call(region: string, op: string, json: unknown): Promise<SfnAnswer> {
    const date = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const res = await fetch(`${this.moto.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `AWSStepFunctions.${op}`,
        authorization: `AWS4-HMAC-SHA256 Credential=test/${date}/${region}/states/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
      },
      body: JSON.stringify(json),
    });
    return { status: res.status, body: await res.text() };
  }
}

function rehome(body: string, lane: Lane): string {
  return body.split(`:states:${lane.region}:`).join(`:states:${lane.home}:`);
}

function ok(body: unknown): SfnAnswer {
  return { status: 200, body: JSON.stringify(body) };
}

function error(status: number, type: string, message: string): SfnAnswer {
  return { status, body: JSON.stringify({ __type: type, message }) };
}
