/**
 * DynamoDB expressions over items in DynamoDB JSON (AttributeValue maps), as far as the product and
 * Powertools idempotency use them: condition expressions (comparators, IN, BETWEEN, AND/OR/NOT,
 * parentheses, attribute_exists/attribute_not_exists/begins_with/contains/size), key conditions, and
 * update expressions (SET with if_not_exists, list_append and +/-, REMOVE, ADD).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
 */
export type AV = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; M?: Record<string, AV>; L?: AV[]; SS?: string[]; NS?: string[]; B?: string };
export type Item = Record<string, AV>;

export interface ExpressionContext {
  names?: Record<string, string>;
  values?: Record<string, AV>;
}

type Token = { t: 'name' | 'value' | 'id' | 'num' | 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(#[\w]+)|(:[\w]+)|([A-Za-z_][\w]*)|(\d+)|(<>|<=|>=|[()\[\],.=<>+-]))/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < src.length) {
    if (/^\s*$/.test(src.slice(re.lastIndex))) break;
    m = re.exec(src);
    if (!m) throw new ExpressionError(`cannot parse expression near "${src.slice(re.lastIndex)}"`);
    if (m[1]) out.push({ t: 'name', v: m[1] });
    else if (m[2]) out.push({ t: 'value', v: m[2] });
    else if (m[3]) out.push({ t: 'id', v: m[3] });
    else if (m[4]) out.push({ t: 'num', v: m[4] });
    else out.push({ t: 'op', v: m[5]! });
  }
  return out;
}

export class ExpressionError extends Error {
  override name = 'ValidationException';
}

type PathPart = string | number;

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[], private readonly ctx: ExpressionContext) {}

  done(): boolean {
    return this.i >= this.toks.length;
  }
  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new ExpressionError('unexpected end of expression');
    return t;
  }
  private isKw(kw: string): boolean {
    const t = this.peek();
    return t?.t === 'id' && t.v.toUpperCase() === kw;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new ExpressionError(`expected "${v}", got "${t.v}"`);
  }
  eatOp(v: string): boolean {
    const t = this.peek();
    if (t?.t === 'op' && t.v === v) return this.i++, true;
    return false;
  }
  eatKw(kw: string): boolean {
    if (this.isKw(kw)) return this.i++, true;
    return false;
  }

  path(): PathPart[] {
    const parts: PathPart[] = [this.pathName()];
    for (;;) {
      if (this.eatOp('.')) parts.push(this.pathName());
      else if (this.eatOp('[')) {
        parts.push(Number(this.next().v));
        this.expectOp(']');
      } else return parts;
    }
  }
  private pathName(): string {
    const t = this.next();
    if (t.t === 'name') {
      const n = this.ctx.names?.[t.v];
      if (n === undefined) throw new ExpressionError(`ExpressionAttributeNames has no ${t.v}`);
      return n;
    }
    if (t.t === 'id') return t.v;
    throw new ExpressionError(`expected an attribute name, got "${t.v}"`);
  }

  /** An operand: a function of a value, a value placeholder, or a path. Returns an evaluator. */
  operand(): (item: Item) => AV | undefined {
    const t = this.peek();
    if (t?.t === 'value') {
      this.i++;
      const v = this.ctx.values?.[t.v];
      if (v === undefined) throw new ExpressionError(`ExpressionAttributeValues has no ${t.v}`);
      return () => v;
    }
    if (t?.t === 'id' && this.toks[this.i + 1]?.v === '(') {
      const fn = t.v;
      this.i += 2;
      if (fn === 'size') {
        const p = this.path();
        this.expectOp(')');
        return (item) => {
          const v = get(item, p);
          if (!v) return undefined;
          const n = v.S !== undefined ? v.S.length : v.L ? v.L.length : v.M ? Object.keys(v.M).length : (v.SS ?? v.NS)?.length ?? 0;
          return { N: String(n) };
        };
      }
      if (fn === 'if_not_exists') {
        const p = this.path();
        this.expectOp(',');
        const dflt = this.operand();
        this.expectOp(')');
        return (item) => get(item, p) ?? dflt(item);
      }
      if (fn === 'list_append') {
        const a = this.operand();
        this.expectOp(',');
        const b = this.operand();
        this.expectOp(')');
        return (item) => ({ L: [...(a(item)?.L ?? []), ...(b(item)?.L ?? [])] });
      }
      throw new ExpressionError(`unknown function ${fn}`);
    }
    const p = this.path();
    return (item) => get(item, p);
  }

  /** An operand with + or - (update expressions only). */
  valueExpr(): (item: Item) => AV | undefined {
    const a = this.operand();
    if (this.eatOp('+')) {
      const b = this.operand();
      return (item) => ({ N: String(Number(a(item)?.N) + Number(b(item)?.N)) });
    }
    if (this.eatOp('-')) {
      const b = this.operand();
      return (item) => ({ N: String(Number(a(item)?.N) - Number(b(item)?.N)) });
    }
    return a;
  }

  condition(): (item: Item) => boolean {
    let left = this.conjunction();
    while (this.eatKw('OR')) {
      const l = left;
      const r = this.conjunction();
      left = (item) => l(item) || r(item);
    }
    return left;
  }
  private conjunction(): (item: Item) => boolean {
    let left = this.negation();
    while (this.eatKw('AND')) {
      const l = left;
      const r = this.negation();
      left = (item) => l(item) && r(item);
    }
    return left;
  }
  private negation(): (item: Item) => boolean {
    if (this.eatKw('NOT')) {
      const inner = this.negation();
      return (item) => !inner(item);
    }
    return this.comparison();
  }
  private comparison(): (item: Item) => boolean {
    if (this.eatOp('(')) {
      const c = this.condition();
      this.expectOp(')');
      return c;
    }
    const t = this.peek();
    if (t?.t === 'id' && this.toks[this.i + 1]?.v === '(' && ['attribute_exists', 'attribute_not_exists', 'begins_with', 'contains', 'attribute_type'].includes(t.v)) {
      this.i += 2;
      const p = this.path();
      let arg: ((item: Item) => AV | undefined) | undefined;
      if (this.eatOp(',')) arg = this.operand();
      this.expectOp(')');
      switch (t.v) {
        case 'attribute_exists':
          return (item) => get(item, p) !== undefined;
        case 'attribute_not_exists':
          return (item) => get(item, p) === undefined;
        case 'begins_with':
          return (item) => {
            const v = get(item, p)?.S;
            const prefix = arg!(item)?.S;
            return v !== undefined && prefix !== undefined && v.startsWith(prefix);
          };
        case 'contains':
          return (item) => {
            const v = get(item, p);
            const x = arg!(item);
            if (!v || !x) return false;
            if (v.S !== undefined && x.S !== undefined) return v.S.includes(x.S);
            if (v.SS && x.S !== undefined) return v.SS.includes(x.S);
            if (v.L) return v.L.some((e) => equal(e, x));
            return false;
          };
        default:
          return (item) => Object.keys(get(item, p) ?? {})[0] === arg!(item)?.S;
      }
    }
    const left = this.operand();
    if (this.eatKw('IN')) {
      this.expectOp('(');
      const options = [this.operand()];
      while (this.eatOp(',')) options.push(this.operand());
      this.expectOp(')');
      return (item) => {
        const v = left(item);
        return v !== undefined && options.some((o) => equal(v, o(item)));
      };
    }
    if (this.eatKw('BETWEEN')) {
      const lo = this.operand();
      if (!this.eatKw('AND')) throw new ExpressionError('BETWEEN needs AND');
      const hi = this.operand();
      return (item) => {
        const v = left(item);
        const a = lo(item);
        const b = hi(item);
        return v !== undefined && a !== undefined && b !== undefined && compare(v, a) >= 0 && compare(v, b) <= 0;
      };
    }
    const op = this.next();
    if (op.t !== 'op' || !['=', '<>', '<', '<=', '>', '>='].includes(op.v)) throw new ExpressionError(`expected a comparator, got "${op.v}"`);
    const right = this.operand();
    return (item) => {
      const a = left(item);
      const b = right(item);
      if (op.v === '=') return a !== undefined && b !== undefined && equal(a, b);
      if (op.v === '<>') return !(a !== undefined && b !== undefined && equal(a, b));
      if (a === undefined || b === undefined) return false;
      const c = compare(a, b);
      if (Number.isNaN(c)) return false;
      return op.v === '<' ? c < 0 : op.v === '<=' ? c <= 0 : op.v === '>' ? c > 0 : c >= 0;
    };
  }

  /** SET/REMOVE/ADD clauses, applied to a copy of the item. */
  update(): (item: Item) => Item {
    const actions: ((before: Item, after: Item) => void)[] = [];
    while (!this.done()) {
      const clause = this.next();
      const kind = clause.v.toUpperCase();
      if (clause.t !== 'id' || !['SET', 'REMOVE', 'ADD', 'DELETE'].includes(kind)) throw new ExpressionError(`expected SET, REMOVE, ADD or DELETE, got "${clause.v}"`);
      do {
        const p = this.path();
        if (kind === 'SET') {
          this.expectOp('=');
          const v = this.valueExpr();
          actions.push((before, after) => {
            const value = v(before);
            if (value === undefined) throw new ExpressionError('The provided expression refers to an attribute that does not exist in the item');
            set(after, p, value);
          });
        } else if (kind === 'REMOVE') {
          actions.push((_before, after) => remove(after, p));
        } else {
          const v = this.operand();
          actions.push((before, after) => {
            const cur = get(before, p);
            const x = v(before)!;
            if (x.N !== undefined && kind === 'ADD') set(after, p, { N: String(Number(cur?.N ?? 0) + Number(x.N)) });
            else if (x.SS) set(after, p, { SS: kind === 'ADD' ? [...new Set([...(cur?.SS ?? []), ...x.SS])] : (cur?.SS ?? []).filter((s) => !x.SS!.includes(s)) });
          });
        }
      } while (this.eatOp(','));
    }
    return (item) => {
      // every right-hand side reads the item as it was before the update
      const after = structuredClone(item);
      for (const a of actions) a(item, after);
      return after;
    };
  }
}

export function get(item: Item, path: PathPart[]): AV | undefined {
  let cur: AV | undefined = { M: item };
  for (const part of path) {
    if (!cur) return undefined;
    cur = typeof part === 'number' ? cur.L?.[part] : cur.M?.[part];
  }
  return cur;
}

function set(item: Item, path: PathPart[], value: AV): void {
  let cur: AV = { M: item };
  for (let k = 0; k < path.length - 1; k++) {
    const part = path[k]!;
    const next: AV | undefined = typeof part === 'number' ? cur.L?.[part] : cur.M?.[part];
    if (!next || (typeof path[k + 1] === 'number' ? !next.L : !next.M)) throw new ExpressionError('The document path provided in the update expression is invalid for update');
    cur = next;
  }
  const last = path.at(-1)!;
  if (typeof last === 'number') {
    if (!cur.L) throw new ExpressionError('The document path provided in the update expression is invalid for update');
    cur.L[Math.min(last, cur.L.length)] = value;
  } else cur.M![last] = value;
}

function remove(item: Item, path: PathPart[]): void {
  const parent = path.length === 1 ? ({ M: item } as AV) : get(item, path.slice(0, -1));
  const last = path.at(-1)!;
  if (!parent) return;
  if (typeof last === 'number') parent.L?.splice(last, 1);
  else if (parent.M) delete parent.M[last];
}

export function equal(a: AV | undefined, b: AV | undefined): boolean {
  if (!a || !b) return false;
  if (a.S !== undefined || b.S !== undefined) return a.S === b.S;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) === Number(b.N);
  return JSON.stringify(a) === JSON.stringify(b);
}

function compare(a: AV, b: AV): number {
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return NaN;
}

export function parseCondition(expr: string, ctx: ExpressionContext): (item: Item) => boolean {
  const p = new Parser(tokenize(expr), ctx);
  const c = p.condition();
  if (!p.done()) throw new ExpressionError(`unexpected text after the condition in "${expr}"`);
  return c;
}

export function parseUpdate(expr: string, ctx: ExpressionContext): (item: Item) => Item {
  return new Parser(tokenize(expr), ctx).update();
}
