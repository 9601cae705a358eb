import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** Where run reports go: S3 in a deployment, a directory in the sandbox and on a laptop. */
export interface ReportSink {
  /** Writes one document; answers where it is (s3://… or an absolute file path). */
  write(name: string, body: string, contentType: string): Promise<string>;
}

export interface WrittenReport {
  json: string;
  html: string;
}

export class DirectoryReportSink implements ReportSink {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  async write(name: string, body: string): Promise<string> {
    const path = join(this.dir, ...name.split('/'));
    if (!path.startsWith(this.dir)) throw new Error(`report name ${name} leaves ${this.dir}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body, 'utf8');
    return path;
  }
}

export class S3ReportSink implements ReportSink {
  constructor(
    readonly bucket: string,
    readonly region = process.env.AWS_REGION ?? 'us-east-1',
    readonly prefix = 'reports/',
  ) {}
  async write(name: string, body: string, contentType: string): Promise<string> {
    const { putReportObject } = await import('../state/report-objects');
    return putReportObject({ bucket: this.bucket, key: `${this.prefix}${name}`, body, contentType, region: this.region });
  }
}

/** SENSORFLEET_REPORTS_BUCKET (serverless.yml sets it for the worker) wins over SENSORFLEET_REPORTS_DIR. */
export function reportSinkFromEnv(env: NodeJS.ProcessEnv = process.env): ReportSink | undefined {
  if (env.SENSORFLEET_REPORTS_BUCKET) return new S3ReportSink(env.SENSORFLEET_REPORTS_BUCKET, env.AWS_REGION ?? 'us-east-1');
  if (env.SENSORFLEET_REPORTS_DIR) return new DirectoryReportSink(env.SENSORFLEET_REPORTS_DIR);
  return undefined;
}
