/**
 * The JSONPath subset, intrinsic functions and payload templates of Amazon States Language
 * (https://states-language.net/spec.html): paths `$.a.b[0]` and context paths `$$.Map.Item.Value`,
 * Parameters/ItemSelector/ResultSelector templates (`key.$`), ResultPath merges, and the
 * States.* intrinsics a definition may use.
 */
import { createHash, randomUUID } from 'node:crypto';

export class StatesError extends Error {
  constructor(readonly error: string, override readonly cause: string) {
    super(`${error}: ${cause}`);
  }
}

type Seg = string | number;

function segments(path: string): { root: '$' | '$$'; segs: Seg[] } {
  const root = path.startsWith('$$') ? '$$' : '$';
  if (!path.startsWith('$')) throw new StatesError('States.Runtime', `not a path: ${path}`);
  const rest = path.slice(root.length);
  const segs: Seg[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']+)'\]/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (m = re.exec(rest))) segs.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  if (re.lastIndex < rest.length && rest.length > 0) throw new StatesError('States.Runtime', `unsupported path syntax: ${path}`);
  return { root, segs };
}

export function readPath(path: string, input: unknown, context: unknown): unknown {
  const { root, segs } = segments(path);
  let cur: any = root === '$$' ? context : input;
  for (const s of segs) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || !(s in cur)) {
      throw new StatesError('States.Runtime', `The JSONPath '${path}' could not be found in the input`);
    }
    cur = cur[s as keyof typeof cur];
  }
  return cur;
}

/** Whether `path` exists (Choice IsPresent). */
export function hasPath(path: string, input: unknown, context: unknown): boolean {
  try {
    readPath(path, input, context);
    return true;
  } catch {
    return false;
  }
}

/** ResultPath: null drops the result, `$` replaces the input, `$.a.b` puts it there (in a copy). */
export function applyResultPath(input: unknown, result: unknown, resultPath: string | null | undefined): unknown {
  if (resultPath === null) return input;
  if (resultPath === undefined || resultPath === '$') return result;
  const { segs } = segments(resultPath);
  const out: any = input !== null && typeof input === 'object' ? structuredClone(input) : {};
  let cur = out;
  for (let i = 0; i < segs.length - 1; i++) {
    const s = segs[i]!;
    if (cur[s] === null || typeof cur[s] !== 'object') cur[s] = {};
    cur = cur[s];
  }
  cur[segs.at(-1)!] = result;
  return out;
}

/** A payload template: `key.$` values are paths or intrinsics, everything else is copied. */
export function fillTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, input, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$')) {
      const expr = String(v);
      out[k.slice(0, -2)] = expr.startsWith('States.') ? intrinsic(expr, input, context) : readPath(expr, input, context);
    } else out[k] = fillTemplate(v, input, context);
  }
  return out;
}

// ---- intrinsic functions (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html)

type Arg = { kind: 'str'; v: string } | { kind: 'num'; v: number } | { kind: 'path'; v: string } | { kind: 'call'; name: string; args: Arg[] } | { kind: 'lit'; v: unknown };

function parseIntrinsic(src: string): Arg {
  let i = 0;
  const ws = () => {
    while (src[i] === ' ') i++;
  };
  const arg = (): Arg => {
    ws();
    if (src[i] === "'") {
      let s = '';
      i++;
      while (i < src.length && src[i] !== "'") {
        if (src[i] === '\\') i++;
        s += src[i++];
      }
      i++;
      return { kind: 'str', v: s };
    }
    if (src[i] === '$') {
      const start = i;
      while (i < src.length && !',)'.includes(src[i]!) && src[i] !== ' ') i++;
      return { kind: 'path', v: src.slice(start, i) };
    }
    if (/[-\d]/.test(src[i]!)) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i))!;
      i += m[0].length;
      return { kind: 'num', v: Number(m[0]) };
    }
    const m = /^(States\.[A-Za-z]+)\(/.exec(src.slice(i));
    if (m) {
      i += m[0].length;
      const args: Arg[] = [];
      ws();
      if (src[i] === ')') i++;
      else
        for (;;) {
          args.push(arg());
          ws();
          if (src[i] === ',') i++;
          else if (src[i] === ')') {
            i++;
            break;
          } else throw new StatesError('States.Runtime', `bad intrinsic: ${src}`);
        }
      return { kind: 'call', name: m[1]!, args };
    }
    const lit = /^(true|false|null)/.exec(src.slice(i));
    if (lit) {
      i += lit[0].length;
      return { kind: 'lit', v: JSON.parse(lit[0]) };
    }
    throw new StatesError('States.Runtime', `bad intrinsic argument in ${src}`);
  };
  return arg();
}

export function intrinsic(src: string, input: unknown, context: unknown): unknown {
  return evalArg(parseIntrinsic(src), input, context);
}

function evalArg(a: Arg, input: unknown, context: unknown): any {
  switch (a.kind) {
    case 'str':
    case 'num':
    case 'lit':
      return a.v;
    case 'path':
      return readPath(a.v, input, context);
    case 'call': {
      const args = a.args.map((x) => evalArg(x, input, context));
      switch (a.name) {
        case 'States.Format': {
          let k = 1;
          return String(args[0]).replace(/\{\}/g, () => {
            const v = args[k++];
            return typeof v === 'string' ? v : JSON.stringify(v);
          });
        }
        case 'States.UUID':
          return randomUUID();
        case 'States.StringToJson':
          return JSON.parse(args[0]);
        case 'States.JsonToString':
          return JSON.stringify(args[0]);
        case 'States.Array':
          return args;
        case 'States.ArrayLength':
          return (args[0] as unknown[]).length;
        case 'States.ArrayGetItem':
          return (args[0] as unknown[])[args[1]];
        case 'States.ArrayContains':
          return (args[0] as unknown[]).some((x) => JSON.stringify(x) === JSON.stringify(args[1]));
        case 'States.ArrayUnique':
          return [...new Map((args[0] as unknown[]).map((x) => [JSON.stringify(x), x])).values()];
        case 'States.ArrayRange': {
          const out: number[] = [];
          for (let x = args[0]; args[2] > 0 ? x <= args[1] : x >= args[1]; x += args[2]) out.push(x);
          return out;
        }
        case 'States.ArrayPartition': {
          const out: unknown[][] = [];
          const arr = args[0] as unknown[];
          for (let x = 0; x < arr.length; x += args[1]) out.push(arr.slice(x, x + args[1]));
          return out;
        }
        case 'States.MathAdd':
          return args[0] + args[1];
        case 'States.MathRandom':
          return Math.floor(args[0] + Math.random() * (args[1] - args[0]));
        case 'States.StringSplit':
          return String(args[0]).split(String(args[1]));
        case 'States.Hash':
          return createHash(String(args[1]).toLowerCase().replace('-', '')).update(String(args[0])).digest('hex');
        case 'States.Base64Encode':
          return Buffer.from(String(args[0])).toString('base64');
        case 'States.Base64Decode':
          return Buffer.from(String(args[0]), 'base64').toString('utf8');
        default:
          throw new StatesError('States.Runtime', `intrinsic ${a.name} is not simulated`);
      }
    }
  }
}
