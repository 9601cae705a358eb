// Runs one bundled Lambda handler once, as the Lambda runtime would (used by `sensorfleet invoke`):
//   node bin/lambda-invoke.mjs <bundle.mjs> <event.json> <result.json> <function-name> <timeout-ms>
// The event and a Lambda-shaped context go in; the result is written to <result.json>. The handler's
// logs stay on this process's stdout/stderr. Exit 0 when the handler returned, 1 when it threw or
// timed out (the error is printed as Lambda reports it: {"errorType", "errorMessage"}).
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [entry, eventFile, resultFile, functionName, timeout] = process.argv.slice(2);
const timeoutMs = Number(timeout);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const deadline = Date.now() + timeoutMs;
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html
const context = {
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${region}:${process.env.AWS_ACCOUNT_ID ?? '000000000000'}:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: `local/${randomUUID()}`,
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done() {},
  fail() {},
  succeed() {},
};

const report = (err) => process.stderr.write(`${JSON.stringify({ errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err) })}\n`);
setTimeout(() => {
  report({ name: 'TimeoutError', message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` });
  process.exit(1);
}, timeoutMs).unref();

try {
  const { handler } = await import(pathToFileURL(entry).href);
  const result = await handler(event, context);
  writeFileSync(resultFile, JSON.stringify(result ?? null));
  process.exit(0);
} catch (err) {
  report(err);
  process.exit(1);
}
