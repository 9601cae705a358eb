/**
 * Request bodies in Kubernetes' protobuf encoding (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding),
 * which kubectl's typed clients send (`kubectl create namespace|configmap|secret`: Content-Type
 * application/vnd.kubernetes.protobuf). The body is the 4-byte magic `k8s\0` and a runtime.Unknown
 * {typeMeta, raw}; `raw` is the object in the field numbers of k8s.io/api/core/v1/generated.proto.
 * Decoded here for the kinds those commands create; any other kind is 415, as from a server that does not
 * speak protobuf for it (clients then have to send JSON).
 */
import { KubeError } from './status';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

type Field = { no: number; wire: number; value: bigint | Buffer };

/** The protobuf wire format: varints, length-delimited fields, 32/64-bit fixed (https://protobuf.dev/programming-guides/encoding/). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated field');
      out.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) (out.push({ no, wire, value: buf.subarray(i, i + 8) }), (i += 8));
    else if (wire === 5) (out.push({ no, wire, value: buf.subarray(i, i + 4) }), (i += 4));
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString('utf8');
const one = (fs: Field[], no: number) => fs.filter((f) => f.no === no).at(-1);

function map(fs: Field[], no: number, value: (f: Field) => string): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.no === no).map((f) => fields(f.value as Buffer));
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map((e) => [one(e, 1) ? str(one(e, 1)!) : '', one(e, 2) ? value(one(e, 2)!) : '']));
}

/** ObjectMeta: the fields a client sets on create (generated.proto: 1 name, 2 generateName, 3 namespace, 11 labels, 12 annotations, 14 finalizers). */
function objectMeta(buf: Buffer): Record<string, unknown> {
  const fs = fields(buf);
  const m: Record<string, unknown> = {};
  for (const [no, key] of [[1, 'name'], [2, 'generateName'], [3, 'namespace'], [6, 'resourceVersion']] as const) {
    const f = one(fs, no);
    if (f && str(f) !== '') m[key] = str(f);
  }
  const labels = map(fs, 11, str);
  const annotations = map(fs, 12, str);
  if (labels) m.labels = labels;
  if (annotations) m.annotations = annotations;
  const finalizers = fs.filter((f) => f.no === 14).map(str);
  if (finalizers.length) m.finalizers = finalizers;
  return m;
}

const b64 = (f: Field) => (f.value as Buffer).toString('base64');

const KINDS: Record<string, (fs: Field[]) => Record<string, unknown>> = {
  Namespace: (fs) => {
    const spec = one(fs, 2);
    const finalizers = spec ? fields(spec.value as Buffer).filter((f) => f.no === 1).map(str) : [];
    return finalizers.length ? { spec: { finalizers } } : {};
  },
  ConfigMap: (fs) => {
    const data = map(fs, 2, str);
    const binaryData = map(fs, 3, b64);
    const immutable = one(fs, 4);
    return { ...(data ? { data } : {}), ...(binaryData ? { binaryData } : {}), ...(immutable ? { immutable: immutable.value === 1n } : {}) };
  },
  ServiceAccount: (fs) => {
    const automount = one(fs, 4);
    return automount ? { automountServiceAccountToken: automount.value === 1n } : {};
  },
  Secret: (fs) => {
    const data = map(fs, 2, b64);
    const type = one(fs, 3);
    const stringData = map(fs, 4, str);
    const immutable = one(fs, 5);
    return { ...(data ? { data } : {}), ...(type ? { type: str(type) } : {}), ...(stringData ? { stringData } : {}), ...(immutable ? { immutable: immutable.value === 1n } : {}) };
  },
};

const unsupported = () =>
  new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'UnsupportedMediaType', code: 415, message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml` });

/** The JSON form of a protobuf request body of `kind`. */
export function decodeProtobufObject(body: Buffer, kind: string): Record<string, unknown> {
  const decode = KINDS[kind];
  if (!decode || !body.subarray(0, 4).equals(MAGIC)) throw unsupported();
  try {
    const unknown = fields(body.subarray(4));
    const typeMeta = one(unknown, 1) ? fields(one(unknown, 1)!.value as Buffer) : [];
    const raw = one(unknown, 2);
    const obj = raw ? fields(raw.value as Buffer) : [];
    const meta = one(obj, 1);
    return {
      ...(one(typeMeta, 1) ? { apiVersion: str(one(typeMeta, 1)!) } : {}),
      ...(one(typeMeta, 2) ? { kind: str(one(typeMeta, 2)!) } : {}),
      metadata: meta ? objectMeta(meta.value as Buffer) : {},
      ...decode(obj),
    };
  } catch (e) {
    throw new KubeError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'BadRequest', code: 400, message: `the object provided is unrecognized: ${(e as Error).message}` });
  }
}
