import { awsClient } from '../platforms/aws/clients';

/**
 * S3 PutObject for run reports. The S3 client (a large SDK) is imported on first use, so only the
 * messages that end a run load it; the worker's cold start does not. Endpoint per the standard
 * settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL): a custom endpoint is addressed path-style, as
 * local S3 stand-ins expect. Retries, timeouts and call counting are awsClient's.
 */
export async function putReportObject(o: { bucket: string; key: string; body: string; contentType: string; region: string }): Promise<string> {
  const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  const custom = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  const s3 = awsClient(S3Client, { region: o.region }, custom ? { forcePathStyle: true } : {});
  try {
    await s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body, ContentType: o.contentType }));
  } catch (err) {
    const e = err as Error;
    throw new Error(`S3 PutObject s3://${o.bucket}/${o.key}: ${e.name}: ${e.message}`, { cause: err });
  }
  return `s3://${o.bucket}/${o.key}`;
}
