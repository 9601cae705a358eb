import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseInstances, privateDnsNames } from '../../shared/platforms/aws/ec2-host-names';

/**
 * EC2 host names of ECS container instances (issue 10): the old regex took the next instance's name
 * when one had an empty <privateDnsName/>, and one unknown instance id failed the whole lookup.
 * Response shape: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
 * (example response; error shape: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */
const RESPONSE = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>
        <item>
            <reservationId>r-1234567890abcdef0</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-0stopped00000000a</instanceId>
                    <imageId>ami-bff32ccc</imageId>
                    <instanceState><code>80</code><name>stopped</name></instanceState>
                    <privateDnsName/>
                    <dnsName/>
                    <reason>User initiated (2026-11-30 10:00:00 GMT)</reason>
                    <keyName>my_keypair</keyName>
                    <amiLaunchIndex>0</amiLaunchIndex>
                    <productCodes/>
                    <instanceType>m5.large</instanceType>
                    <placement><availabilityZone>eu-west-1c</availabilityZone><groupName/><tenancy>default</tenancy></placement>
                    <subnetId>subnet-56f5f633</subnetId>
                    <vpcId>vpc-11112222</vpcId>
                    <networkInterfaceSet>
                        <item>
                            <networkInterfaceId>eni-0598c7d356eba48d7</networkInterfaceId>
                            <privateIpAddress>192.168.1.87</privateIpAddress>
                            <privateDnsName>ip-192-168-1-87.eu-west-1.compute.internal</privateDnsName>
                            <privateIpAddressesSet>
                                <item>
                                    <privateIpAddress>192.168.1.87</privateIpAddress>
                                    <privateDnsName>ip-192-168-1-87.eu-west-1.compute.internal</privateDnsName>
                                    <primary>true</primary>
                                </item>
                            </privateIpAddressesSet>
                        </item>
                    </networkInterfaceSet>
                </item>
                <item>
                    <instanceId>i-1234567890abcdef0</instanceId>
                    <imageId>ami-bff32ccc</imageId>
                    <instanceState><code>16</code><name>running</name></instanceState>
                    <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                    <dnsName>ec2-54-194-252-215.eu-west-1.compute.amazonaws.com</dnsName>
                    <reason/>
                    <networkInterfaceSet>
                        <item>
                            <networkInterfaceId>eni-0598c7d356eba48d8</networkInterfaceId>
                            <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                        </item>
                    </networkInterfaceSet>
                </item>
            </instancesSet>
        </item>
        <item>
            <reservationId>r-0abcdef1234567890</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-0fedcba9876543210</instanceId>
                    <instanceState><code>16</code><name>running</name></instanceState>
                    <privateDnsName>ip-10-0-4-21.eu-west-1.compute.internal</privateDnsName>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
    <nextToken>eyJ2IjoiMiIsImMiOiJ5cDBtbG5yU2F3In0=</nextToken>
</DescribeInstancesResponse>`;

describe('parseInstances', () => {
  it('reads each instance by itself: an empty <privateDnsName/> gives no name, not the next instance\'s', () => {
    expect(parseInstances(RESPONSE)).toEqual({
      names: {
        'i-1234567890abcdef0': 'ip-192-168-1-88.eu-west-1.compute.internal',
        'i-0fedcba9876543210': 'ip-10-0-4-21.eu-west-1.compute.internal',
      },
      nextToken: 'eyJ2IjoiMiIsImMiOiJ5cDBtbG5yU2F3In0=',
    });
  });

  it('the instance\'s own name, never one of its network interfaces\' (which come first for the stopped one)', () => {
    const names = parseInstances(RESPONSE).names;
    expect(names['i-0stopped00000000a']).toBeUndefined();
    expect(Object.values(names)).not.toContain('ip-192-168-1-87.eu-west-1.compute.internal');
  });

  it('an empty result (<reservationSet/>) and a single reservation with a single instance', () => {
    expect(parseInstances('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><reservationSet/></DescribeInstancesResponse>')).toEqual({ names: {} });
    const one = '<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><privateDnsName>ip-10-0-0-1.ec2.internal</privateDnsName></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';
    expect(parseInstances(one)).toEqual({ names: { 'i-1': 'ip-10-0-0-1.ec2.internal' } });
  });

  it('rejects what is not a DescribeInstancesResponse', () => {
    expect(() => parseInstances('<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>')).toThrow(/unexpected response \(root element Response\)/);
  });
});

describe('privateDnsNames over the wire', () => {
  const saved = process.env.AWS_ENDPOINT_URL_EC2;
  const credentials = async () => ({ accessKeyId: 'test', secretAccessKey: 'test' });
  let server: Server | undefined;
  afterEach(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EC2;
    else process.env.AWS_ENDPOINT_URL_EC2 = saved;
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    server = undefined;
  });

  it('moto: an instance id that does not exist (any more) is left out; the others still get their names', async () => {
    const motoUrl = inject('motoUrl');
    process.env.AWS_ENDPOINT_URL_EC2 = motoUrl;
    const ec2 = new EC2Client({ endpoint: motoUrl, region: 'eu-west-3', credentials: await credentials() });
    const run = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-03cf127a', InstanceType: 't3.micro', MinCount: 2, MaxCount: 2 }));
    const ids = run.Instances!.map((i) => i.InstanceId!);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const want = Object.fromEntries(described.Reservations!.flatMap((r) => r.Instances!).map((i) => [i.InstanceId!, i.PrivateDnsName!]));
    const gone = 'i-0123456789abcdef0';
    // the id list the old code sent fails as a whole on moto as on EC2
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids, gone] }))).rejects.toThrow(/InvalidInstanceID\.NotFound|does not exist/);
    expect(await privateDnsNames([ids[0]!, gone, ids[1]!], 'eu-west-3', credentials)).toEqual(want);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    ec2.destroy();
  });

  it('a failing lookup returns no names and warns with the reason: it never fails the reconcile', async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'text/xml;charset=UTF-8' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>d2a8a1b4-3b7e-4c8e-9c9e-example</RequestID></Response>');
      });
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', () => ok()));
    const port = (server.address() as { port: number }).port;
    process.env.AWS_ENDPOINT_URL_EC2 = `http://127.0.0.1:${port}`;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      expect(await privateDnsNames(['i-1234567890abcdef0'], 'eu-west-1', credentials)).toEqual({});
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => [w.name, (w as { code?: string }).code])).toEqual([['SensorfleetWarning', 'SENSORFLEET_EC2_HOST_NAMES']]);
    expect(warnings[0]!.message).toContain('EC2 DescribeInstances: HTTP 403 UnauthorizedOperation: You are not authorized to perform this operation.');
    expect(warnings[0]!.message).toContain('matched by instance id only');
  });
});
