/**
 * Python literals as numpy writes them in `.npy` headers and prints them in
 * `str(dtype)`: a reader for the part of ast.literal_eval a header can use
 * (dict, tuple, list, str, bytes, int, True/False/None) and Python's repr of
 * those values. Pure.
 */
import { memmapError, show } from './errors';

/** Deepest nesting of a literal (a damaged `((((...` stays cheap). */
const MAX_DEPTH = 64;

const bad = (message: string) => memmapError('ERR_NPY_BAD_HEADER', message);

export type PyValue =
  string | Uint8Array | number | bigint | boolean | null | PyValue[] | PyTuple | Map<PyValue, PyValue>;
/** A Python tuple, told apart from a list. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Python's one-character escapes (`\a` ... `\v`, quotes, the backslash). */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * A dict key as a string equal for keys Python finds equal (True and 1, equal
 * tuples), or null for what Python cannot hash (a list or dict inside).
 */
function keyId(value: PyValue): string | null {
  if (typeof value === 'string') return `s${value}`;
  if (value instanceof Uint8Array) return `b${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `i${value}`;
  if (typeof value === 'boolean') return value ? 'i1' : 'i0';
  if (value === null) return 'n';
  if (value instanceof PyTuple) {
    const items = value.items.map(keyId);
    return items.includes(null) ? null : JSON.stringify(items);
  }
  return null;
}

/**
 * Integers as Python 3 spells them (`0x1F`, `0o17`, `0b101`, `1_000`; a
 * decimal never has a leading zero), with Python 2's `L`, which numpy drops
 * from the version 1.0 and 2.0 headers Python 2 may have written. A float or a complex number is no integer:
 * no header field takes one, and numpy refuses them where they land.
 */
const INTEGER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)L?(?![\w.])/;

/**
 * Parses one Python literal as `ast.literal_eval` reads it, for the values a
 * header holds: dict, tuple, list, str, bytes (as a Uint8Array), int,
 * True/False/None. Python's lexical rules apply: comments, line
 * continuations, string prefixes (`r`, `u`, `b`, `rb`), triple quotes,
 * adjacent strings joined, every escape but `\N{...}` (refused: it needs
 * Unicode's name table), an unknown escape kept as written. Floats, complex
 * numbers and sets are refused (no header takes them). `python2Longs`: take
 * Python 2's `3L` as numpy does for a version 1.0 or 2.0 header.
 */
export function parsePyLiteral(source: string, { python2Longs = true } = {}): PyValue {
  // Python reads `\r\n` and `\r` in source as `\n`, inside strings too.
  const text = source.replace(/\r\n?/g, '\n');
  let at = 0;
  /**
   * Whitespace, comments and line continuations. A line break ends a
   * statement outside brackets, so there it is whitespace only at the end.
   */
  const skip = (lineBreaks = true) => {
    for (;;) {
      const c = text[at];
      if (c === ' ' || c === '\t' || c === '\f' || (lineBreaks && c === '\n')) at++;
      else if (c === '#') while (at < text.length && text[at] !== '\n') at++;
      else if (c === '\\' && text[at + 1] === '\n') at += 2;
      else return;
    }
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
      // Python's equal keys are one key (1 and True, equal tuples): the first
      // key stays, with the last value.
      const keys = new Map<string, PyValue>();
      for (;;) {
        skip();
        if (text[at] === '}') {
          at++;
          return map;
        }
        const parsedKey = value(depth + 1);
        const id = keyId(parsedKey);
        if (id === null) fail('a list or dict as a dict key');
        const key = keys.get(id!) ?? parsedKey;
        keys.set(id!, key);
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
    const prefix = /^(?:[rRuUbB]|[rR][bB]|[bB][rR])?(?=['"])/.exec(text.slice(at, at + 3));
    if (prefix !== null) return strings(depth > 0);
    const sign = c === '-' || c === '+' ? c : '';
    if (sign !== '') {
      at++;
      skip(depth > 0);
    }
    const word = /^(?:True|False|None)(?!\w)/.exec(text.slice(at, at + 6));
    if (word !== null && sign === '') {
      at += word[0].length;
      return word[0] === 'True' ? true : word[0] === 'False' ? false : null;
    }
    const integer = INTEGER.exec(text.slice(at, at + 200));
    if (integer === null || (!python2Longs && integer[0].endsWith('L')))
      return fail(sign === '' ? 'expected a value' : 'expected a number');
    at += integer[0].length;
    const digits = integer[0].replace(/[_L]/g, '');
    const magnitude = BigInt(digits);
    const n = sign === '-' ? -magnitude : magnitude;
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  };
  /** One string literal, or several side by side (Python joins them). */
  const strings = (inBrackets: boolean): string | Uint8Array => {
    const parts: (string | Uint8Array)[] = [];
    for (;;) {
      parts.push(oneString());
      skip(inBrackets);
      if (!/^(?:[rRuUbB]|[rR][bB]|[bB][rR])?['"]/.test(text.slice(at, at + 3))) break;
    }
    const bytes = parts.filter((p) => p instanceof Uint8Array);
    if (bytes.length === 0) return parts.join('');
    if (bytes.length !== parts.length) fail('bytes and str literals mixed');
    return Buffer.concat(bytes as Uint8Array[]);
  };
  const oneString = (): string | Uint8Array => {
    let prefix = '';
    while (text[at] !== "'" && text[at] !== '"') prefix += text[at++].toLowerCase();
    const raw = prefix.includes('r');
    const isBytes = prefix.includes('b');
    const quote = text.startsWith(text[at].repeat(3), at) ? text[at].repeat(3) : text[at];
    at += quote.length;
    let out = '';
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      if (text.startsWith(quote, at)) {
        at += quote.length;
        break;
      }
      const c = text[at++];
      if (c === '\n' && quote.length === 1) fail('unterminated string');
      if (isBytes && c > '\x7f') fail('a non-ASCII character in a bytes literal');
      if (c !== '\\') {
        out += c;
        continue;
      }
      if (at >= text.length) fail('unterminated string');
      const e = text[at++];
      if (isBytes && e > '\x7f') fail('a non-ASCII character in a bytes literal');
      if (raw) {
        // A raw string keeps its backslashes; one still stops a quote from closing it.
        out += c + e;
      } else if (e === '\n') {
        // A line continuation inside the string.
      } else if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
      else if (e >= '0' && e <= '7') {
        const octal = /^[0-7]{0,2}/.exec(text.slice(at, at + 2))![0];
        at += octal.length;
        const code = parseInt(e + octal, 8);
        if (isBytes && code > 0xff) fail('an octal escape past \\377 in a bytes literal');
        out += String.fromCharCode(code);
      } else if (e === 'x' || (!isBytes && (e === 'u' || e === 'U'))) {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(at, at + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) fail('bad escape');
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) fail('bad escape');
        // Python keeps a lone surrogate; a JavaScript string cannot tell two from the pair they make.
        if (code >= 0xd800 && code <= 0xdfff) fail('a surrogate code point');
        out += String.fromCodePoint(code);
        at += len;
      } else if (e === 'N' && !isBytes) fail('a \\N{...} escape (memmap has no Unicode name table)');
      else out += c + e;
    }
    return isBytes ? Uint8Array.from(out, (ch) => ch.charCodeAt(0)) : out;
  };
  // Python refuses a NUL anywhere in source, a comment included.
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    at = nul;
    fail('a NUL character');
  }
  // At the top, `1, 2` is a tuple, as in Python (numpy then finds no dict).
  const first = value(0);
  skip(false);
  let result = first;
  if (text[at] === ',') {
    const items = [first];
    for (;;) {
      at++;
      skip(false);
      if (at === text.length || text[at] === '\n') break;
      items.push(value(0));
      skip(false);
      if (text[at] !== ',') break;
    }
    result = new PyTuple(items);
  }
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
