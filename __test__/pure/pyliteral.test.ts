/**
 * The header literal reader against Python's own `ast.literal_eval`, which is
 * what numpy reads a `.npy` header with: on random literals spelled every way
 * Python allows (and many ways it does not), both accept with equal values or
 * both refuse. Only python3 is needed, not numpy.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parsePyLiteral, PyTuple, PyValue } from '../../ts/pyliteral';

const HAVE_PYTHON = spawnSync('python3', ['-c', 'pass']).status === 0;
if (!HAVE_PYTHON && process.env.MEMMAP_REQUIRE_NUMPY === '1') throw new Error('python3 is required in CI');
const describePython = HAVE_PYTHON ? describe : describe.skip;

/** Tagged JSON of a value, the same on both sides: Python's types told apart. */
type Tagged = { s: string } | { b: string } | { i: string } | { k: string } | { T: Tagged[] } | { L: Tagged[] };
function tag(value: PyValue): Tagged | { D: [Tagged, Tagged][] } {
  if (typeof value === 'string') return { s: value };
  if (value instanceof Uint8Array) return { b: Buffer.from(value).toString('hex') };
  if (typeof value === 'number' || typeof value === 'bigint') return { i: String(value) };
  if (value === null || typeof value === 'boolean') return { k: String(value) };
  if (value instanceof PyTuple) return { T: value.items.map(tag) as Tagged[] };
  if (Array.isArray(value)) return { L: value.map(tag) as Tagged[] };
  return { D: [...value].map(([k, v]) => [tag(k), tag(v)] as [Tagged, Tagged]) };
}

const PYTHON = String.raw`
import ast, io, json, sys, tokenize
def filter_header(s):
    # numpy's _filter_header: the L of Python 2's long integers dropped, as
    # numpy does for a version 1.0 or 2.0 header that does not parse.
    tokens, last_number = [], False
    for token in tokenize.generate_tokens(io.StringIO(s).readline):
        if not (last_number and token[0] == tokenize.NAME and token[1] == 'L'):
            tokens.append(token)
        last_number = token[0] == tokenize.NUMBER
    return tokenize.untokenize(tokens)
def literal_eval(text):
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        return ast.literal_eval(filter_header(text))
def tag(v):
    if isinstance(v, bool) or v is None: return {'k': {True: 'true', False: 'false', None: 'null'}[v]}
    if isinstance(v, str): return {'s': v}
    if isinstance(v, bytes): return {'b': v.hex()}
    if isinstance(v, int): return {'i': str(v)}
    if isinstance(v, tuple): return {'T': [tag(x) for x in v]}
    if isinstance(v, list): return {'L': [tag(x) for x in v]}
    if isinstance(v, dict): return {'D': [[tag(k), tag(x)] for k, x in v.items()]}
    return {'other': type(v).__name__}
out = []
for text in json.load(sys.stdin):
    try:
        # numpy's header text never starts with whitespace; Python's
        # indentation rules for a leading line are not the reader's to copy.
        out.append(tag(literal_eval(text)))
    except Exception as e:
        out.append({'error': type(e).__name__})
print(json.dumps(out))
`;

function literalEval(texts: string[]): unknown[] {
  const result = spawnSync('python3', ['-c', PYTHON], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown[];
}

function ours(text: string): unknown {
  try {
    return tag(parsePyLiteral(text));
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_NPY_BAD_HEADER');
    return { error: 'refused' };
  }
}

/**
 * What Python reads that the reader refuses on purpose: a float, complex
 * number or set (no header field takes one), `\N{...}` (Unicode's name
 * table), an octal escape past `\377` in bytes (Python 3.11 wraps it, later
 * versions refuse it), Python 2's `L` apart from its number (numpy drops
 * it, no writer put it there). The text is looked at too: Python drops an earlier
 * value of a repeated key.
 */
const REFUSED_ON_PURPOSE = (text: string, theirs: unknown) =>
  JSON.stringify(theirs).includes('"other"') || /\\N\{|\\[4-7][0-7]{2}|\{1, 2|\{'a'\}|1\.5|1e3|2j|\d\s+L/.test(text);

describePython("the header literal reader agrees with Python's ast.literal_eval", () => {
  const ATOMS = [
    "'<f4'",
    '"<f4"',
    "'a' 'b'",
    "'a'\n'b'",
    "b'x' b'y'",
    "'x' b'y'",
    "r'\\n'",
    "R'\\''",
    "rb'\\x41'",
    "Br'a'",
    "u'\\u00e9'",
    "ur'x'",
    "b'\\u0041'",
    "'\\U0001F600'",
    "'\\101\\0\\07\\1234'",
    "b'\\400'",
    "b'\\377'",
    "'\\q\\ '",
    "'a\\\nb'",
    "'''x\ny'''",
    '"""a"b"""',
    "'''''",
    "''''''",
    "'\\N{DIGIT ONE}'",
    "'\u00e9'",
    "b'\u00e9'",
    '12',
    '007',
    '00',
    '0_0',
    '1_000',
    '1__0',
    '1_',
    '0x1F',
    '0X_f',
    '0o17',
    '0b101',
    '0b2',
    '3L',
    '0x10L',
    '-3',
    '- 3',
    '+4',
    '--3',
    '-True',
    '1.5',
    '1e3',
    '2j',
    '99999999999999999999',
    '-9007199254740993',
    'True',
    'False',
    'None',
    'Truex',
    'none',
    '()',
    '(1,)',
    '(1)',
    '(1, 2,)',
    '(,)',
    '[]',
    '[1,]',
    '{}',
    '{1, 2}',
    "{'a': 1,}",
    "{'a': 1, 'a': 2}",
    "{'a'}",
    '(1 # c\n, 2)',
    '(1, \\\n2)',
    '[1\r\n, 2]',
    '(\f1,)',
    "{'k': ('x', '<i2', (2, 3))}",
  ];
  const atom = fc.constantFrom(...ATOMS);
  const literal: fc.Arbitrary<string> = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atom, tie('tuple'), tie('list'), tie('dict')),
    tuple: fc
      .array(tie('value'), { maxLength: 3 })
      .map((items) => `(${items.join(', ')}${items.length === 1 ? ',' : ''})`),
    list: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
    dict: fc
      .array(fc.tuple(atom, tie('value')), { maxLength: 3 })
      .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
  })).value as fc.Arbitrary<string>;
  /** A literal with a few characters Python's lexer cares about dropped in. */
  const mutated = fc
    .tuple(
      literal,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('#', '\\', '\n', "'", '"', ' ', 'b', 'r', '0', '_', ',', '\0')), {
        maxLength: 2,
      }),
    )
    .map(([text, edits]) => {
      let out = text;
      for (const [at, ch] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        out = out.slice(0, i) + ch + out.slice(i);
      }
      return out;
    });

  test('every atom alone and in a header-shaped dict', () => {
    const texts = ATOMS.flatMap((a) => [a, `{'descr': ${a}, 'shape': (${a},), }`]);
    const theirs = literalEval(texts);
    texts.forEach((text, i) => {
      const mine = ours(text);
      if (!('error' in (mine as object)) || !REFUSED_ON_PURPOSE(text, theirs[i]))
        expect([text, mine]).toEqual([text, 'error' in (theirs[i] as object) ? { error: 'refused' } : theirs[i]]);
    });
  });

  test('random literals: the same value or the same refusal', () => {
    const texts = fc.sample(fc.oneof(literal, mutated), {
      numRuns: Number(process.env.PYLIT_RUNS ?? 4000),
      seed: Number(process.env.PYLIT_SEED ?? 7),
    });
    const theirs = literalEval(texts);
    let agreedValues = 0;
    texts.forEach((text, i) => {
      // Python's lexer reads a leading newline or indentation as a statement's
      // layout; a header never starts with one.
      if (/^\s/.test(text)) return;
      const mine = ours(text);
      if ('error' in (mine as object) && REFUSED_ON_PURPOSE(text, theirs[i])) return;
      expect([text, mine]).toEqual([text, 'error' in (theirs[i] as object) ? { error: 'refused' } : theirs[i]]);
      if (!('error' in (mine as object))) agreedValues++;
    });
    // The sample must exercise acceptance, not only refusals.
    expect(agreedValues).toBeGreaterThan(400);
  });
});
