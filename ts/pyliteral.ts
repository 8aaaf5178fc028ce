/**
 * Python literals as numpy writes them in `.npy` headers and prints them in
 * `str(dtype)`: a reader for ast.literal_eval's subset (dict, tuple, list,
 * str, int, True/False/None) and Python's repr of those values. Pure.
 */
import { memmapError, show } from './errors';

/** Deepest nesting of a literal (a damaged `((((...` stays cheap). */
const MAX_DEPTH = 64;

const bad = (message: string) => memmapError('ERR_NPY_BAD_HEADER', message);

export type PyValue = string | number | bigint | boolean | null | PyValue[] | PyTuple | Map<PyValue, PyValue>;
/** A Python tuple, told apart from a list. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Parses one Python literal (dict, tuple, list, str, int, True/False/None). */
export function parsePyLiteral(text: string): PyValue {
  let at = 0;
  const skip = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const fail = (what: string): never => {
    throw bad(
      `the header dict does not parse: ${what} at character ${at} of ${show(text.length > 200 ? text.slice(0, 200) + '...' : text)}`,
    );
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = text[at];
    if (c === '{') {
      at++;
      const map = new Map<PyValue, PyValue>();
      for (;;) {
        skip();
        if (text[at] === '}') {
          at++;
          return map;
        }
        const key = value(depth + 1);
        skip();
        if (text[at] !== ':') fail("expected ':'");
        at++;
        map.set(key, value(depth + 1));
        skip();
        if (text[at] === ',') at++;
        else if (text[at] !== '}') fail("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      at++;
      const items: PyValue[] = [];
      let sawComma = false;
      for (;;) {
        skip();
        if (text[at] === close) {
          at++;
          // `(x)` is x; `(x,)` and `()` are tuples.
          if (c === '(' && items.length === 1 && !sawComma) return items[0];
          return c === '(' ? new PyTuple(items) : items;
        }
        items.push(value(depth + 1));
        skip();
        if (text[at] === ',') {
          at++;
          sawComma = true;
        } else if (text[at] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"' || ((c === 'u' || c === 'b') && (text[at + 1] === "'" || text[at + 1] === '"'))) {
      if (c === 'u' || c === 'b') at++;
      return pyString();
    }
    const word = /^(?:True|False|None|[+-]?\d+L?)/.exec(text.slice(at, at + 40));
    if (word === null) return fail('expected a value');
    at += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    const digits = word[0].replace(/L$/, ''); // Python 2 wrote long integers as 3L
    const n = Number(digits);
    return Number.isSafeInteger(n) ? n : BigInt(digits);
  };
  const pyString = (): string => {
    const quote = text[at++];
    let out = '';
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      const c = text[at++];
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[at++];
      const simple: Record<string, string> = {
        '\\': '\\',
        "'": "'",
        '"': '"',
        n: '\n',
        r: '\r',
        t: '\t',
        '0': '\0',
        a: '\x07',
        b: '\b',
        f: '\f',
        v: '\v',
      };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(at, at + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail('bad escape');
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) fail('bad escape');
        out += String.fromCodePoint(code);
        at += len;
      } else fail('bad escape');
    }
  };
  const result = value(0);
  skip();
  if (at !== text.length) fail('unexpected text after the dict');
  return result;
}

/** Python's repr of the values numpy puts in a header. */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string' || value instanceof Uint8Array) return pythonRepr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof PyTuple)
    return value.items.length === 1 ? `(${pyRepr(value.items[0])},)` : `(${value.items.map(pyRepr).join(', ')})`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  // A dict where numpy puts none (a descr written by hand) is still quoted in
  // the coded error that refuses it.
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  throw new TypeError(`no Python repr for ${show(value)}`);
}

/**
 * The characters Python's `str.isprintable()` calls unprintable, which its
 * repr escapes: controls, format characters, surrogates, private use,
 * unassigned, and separators other than the ASCII space.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/**
 * Python's repr of a bytes or str value; a str may come as its code points
 * (an array of numbers), which may pass U+10FFFF as numpy's unicode may.
 */
export function pythonRepr(value: Uint8Array | string | readonly number[]): string {
  const bytes = value instanceof Uint8Array;
  const chars = bytes
    ? Array.from(value, (b) => String.fromCharCode(b))
    : typeof value === 'string'
      ? Array.from(value)
      : value.map((point) =>
          point > 0x10ffff ? `\\U${point.toString(16).padStart(8, '0')}` : String.fromCodePoint(point),
        );
  const text = chars.join('');
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of chars) {
    const code = ch.codePointAt(0)!;
    if (ch.length > 2)
      out += ch; // a code point past U+10FFFF, escaped above
    else if (ch === '\\' || ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (bytes ? code < 0x20 || code >= 0x7f : code !== 0x20 && UNPRINTABLE.test(ch))
      out +=
        code < 0x100
          ? '\\x' + code.toString(16).padStart(2, '0')
          : code < 0x10000
            ? '\\u' + code.toString(16).padStart(4, '0')
            : '\\U' + code.toString(16).padStart(8, '0');
    else out += ch;
  }
  return `${bytes ? 'b' : ''}${quote}${out}${quote}`;
}
