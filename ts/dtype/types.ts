/**
 * The dtype table at the type level: what TypeScript knows of each dtype, so
 * that `memmap(p, { dtype: 'float32' })` is a `Memmap<'float32'>` whose `data`
 * is a Float32Array and whose `get()` is a number.
 *
 * Types only (nothing here exists at run time). The runtime tables are checked
 * against these at compile time, both ways, so the two cannot drift:
 * `DTYPE_ROWS` (table.ts) `satisfies` {@link NumericTypes} (every code, its
 * name, kind, TypedArray and codec value), numpy's names and type characters
 * (parse.ts) `satisfies` {@link NameCodes} and {@link CharCodes}, `TIME_UNITS`
 * is exactly {@link TimeUnit}; the grammar of the remaining spellings (byte
 * order prefixes, `S<n>`, `M8[unit]`) is compared with the runtime parser
 * spelling by spelling in `__test__/types.test.ts`.
 *
 * A dtype is named at the type level by its *tag*: numpy's `str(dtype)` on a
 * little-endian machine (every platform memmap ships a binary for) — the
 * value of `array.dtype`: `'float32'`, `'>f4'`, `'|S5'`, `'<U3'`,
 * `'datetime64[ns]'` — or, for a record dtype, an object type from field name
 * to the field's tag (`[tag, shape]` for a sub-array field).
 */
import type { Complex, DType, RecordValue, Scalar } from './dtype';
import type { DTypeLike } from './parse';

// ----- The table -----------------------------------------------------------

/** One numeric dtype at the type level. */
export type NumericType<
  Name extends string,
  Kind extends 'b' | 'i' | 'u' | 'f' | 'c',
  Value,
  Data extends AnyTypedArrayType,
> = {
  /** numpy's name (`str(dtype)` in native byte order). */
  readonly name: Name;
  /** numpy's kind character. */
  readonly kind: Kind;
  /** What `get()` returns. */
  readonly value: Value;
  /** What `data` is. */
  readonly data: Data;
};

type AnyTypedArrayType =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/**
 * The numeric rows of the dtype table, by numpy's kind + itemsize code
 * (`DTYPE_ROWS` in ts/dtype/table.ts is checked against it).
 */
export type NumericTypes = {
  b1: NumericType<'bool', 'b', boolean, Uint8Array>;
  i1: NumericType<'int8', 'i', number, Int8Array>;
  u1: NumericType<'uint8', 'u', number, Uint8Array>;
  i2: NumericType<'int16', 'i', number, Int16Array>;
  u2: NumericType<'uint16', 'u', number, Uint16Array>;
  i4: NumericType<'int32', 'i', number, Int32Array>;
  u4: NumericType<'uint32', 'u', number, Uint32Array>;
  i8: NumericType<'int64', 'i', bigint, BigInt64Array>;
  u8: NumericType<'uint64', 'u', bigint, BigUint64Array>;
  /** Node 20 has no Float16Array: `data` is the raw bits. */
  f2: NumericType<'float16', 'f', number, Uint16Array>;
  f4: NumericType<'float32', 'f', number, Float32Array>;
  f8: NumericType<'float64', 'f', number, Float64Array>;
  /** `data` interleaves real and imaginary parts. */
  c8: NumericType<'complex64', 'c', Complex, Float32Array>;
  c16: NumericType<'complex128', 'c', Complex, Float64Array>;
};

/** A numeric table code: `'b1'`, `'i1'` ... `'c16'`. */
export type NumericCode = keyof NumericTypes;

/** Codes whose itemsize is one byte: byte order does not apply. */
type OneByteCode = 'b1' | 'i1' | 'u1';

/** numpy's names of the numeric dtypes (no byte-order prefix), to their code. */
export type NameCodes = {
  bool: 'b1';
  bool_: 'b1';
  int8: 'i1';
  byte: 'i1';
  uint8: 'u1';
  ubyte: 'u1';
  int16: 'i2';
  short: 'i2';
  uint16: 'u2';
  ushort: 'u2';
  int32: 'i4';
  intc: 'i4';
  uint32: 'u4';
  uintc: 'u4';
  int64: 'i8';
  int: 'i8';
  intp: 'i8';
  long: 'i8';
  longlong: 'i8';
  uint64: 'u8';
  uint: 'u8';
  uintp: 'u8';
  ulong: 'u8';
  ulonglong: 'u8';
  float16: 'f2';
  half: 'f2';
  float32: 'f4';
  single: 'f4';
  float64: 'f8';
  double: 'f8';
  float: 'f8';
  complex64: 'c8';
  csingle: 'c8';
  complex128: 'c16';
  cdouble: 'c16';
  complex: 'c16';
};

/** numpy's one-character type codes (a byte-order prefix is allowed), to their code. */
export type CharCodes = {
  '?': 'b1';
  b: 'i1';
  B: 'u1';
  h: 'i2';
  H: 'u2';
  i: 'i4';
  I: 'u4';
  l: 'i8';
  L: 'u8';
  q: 'i8';
  Q: 'u8';
  p: 'i8';
  P: 'u8';
  e: 'f2';
  f: 'f4';
  d: 'f8';
  F: 'c8';
  D: 'c16';
};

/**
 * datetime64/timedelta64 units.
 *
 * @example
 * memmap('t.bin', { dtype: 'datetime64[ms]' }); // one of Y M W D h m s ms us ns ps fs as
 */
export type TimeUnit = 'Y' | 'M' | 'W' | 'D' | 'h' | 'm' | 's' | 'ms' | 'us' | 'ns' | 'ps' | 'fs' | 'as';

/**
 * A unit, or a multiple of one as numpy spells it: `'10s'` (ten seconds),
 * `'3M'`, `'250ms'`.
 *
 * @example
 * memmap('t.bin', { dtype: 'M8[10s]' }); // Memmap<'datetime64[10s]'>
 */
export type TimeUnitSpelling = TimeUnit | `${bigint}${TimeUnit}`;

/** The TypedArray constructors `dtype` accepts, to their code. */
export type TypedArrayCode<C> = C extends Int8ArrayConstructor
  ? 'i1'
  : C extends Uint8ArrayConstructor
    ? 'u1'
    : C extends Int16ArrayConstructor
      ? 'i2'
      : C extends Uint16ArrayConstructor
        ? 'u2'
        : C extends Int32ArrayConstructor
          ? 'i4'
          : C extends Uint32ArrayConstructor
            ? 'u4'
            : C extends BigInt64ArrayConstructor
              ? 'i8'
              : C extends BigUint64ArrayConstructor
                ? 'u8'
                : C extends Float32ArrayConstructor
                  ? 'f4'
                  : C extends Float64ArrayConstructor
                    ? 'f8'
                    : never;

// ----- Spellings ---------------------------------------------------------------

/** A byte-order prefix: little, big, native, not applicable. */
export type ByteOrder = '<' | '>' | '=' | '|';

/** Every string spelling of a numeric dtype memmap accepts: `'float32'`, `'f4'`, `'<f4'`, `'>i2'`, `'?'`, `'intc'`. */
export type NumericSpelling = keyof NameCodes | `${'' | ByteOrder}${keyof CharCodes | NumericCode | '?1'}`;

/** Bytes, unicode and void spellings: `'S5'`, `'a5'`, `'<U3'`, `'V8'` (the count is digits, at least one non-zero). */
export type SizedSpelling = `${'' | ByteOrder}${'S' | 'a' | 'U' | 'V'}${bigint}`;

/** datetime64/timedelta64 spellings: `'M8[ns]'`, `'<m8[s]'`, `'datetime64[ms]'`, `'timedelta64[h]'`, `'M8[10s]'`. */
export type TimeSpelling =
  | `${'' | ByteOrder}${'M' | 'm'}8[${TimeUnitSpelling}]`
  | `${'' | ByteOrder}${'datetime64' | 'timedelta64'}[${TimeUnitSpelling}]`;

/**
 * Every string spelling of a dtype memmap accepts.
 *
 * @example
 * const spelling: DTypeSpelling = '<f4';
 * // @ts-expect-error: not a dtype
 * const wrong: DTypeSpelling = 'flaot32';
 */
export type DTypeSpelling = NumericSpelling | SizedSpelling | TimeSpelling;

type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';
type IsDigits<S extends string> = S extends `${Digit}${infer Rest}` ? (Rest extends '' ? true : IsDigits<Rest>) : false;
/** `'005'` → `'5'`, as numpy reads the count. */
type StripZeros<S extends string> = S extends `0${infer Rest}` ? (Rest extends '' ? S : StripZeros<Rest>) : S;
/** A count as the runtime reads it: digits, not all zeros (a `${number}` pattern is left to the runtime). */
type Count<S extends string> = `${number}` extends S
  ? S
  : IsDigits<S> extends true
    ? StripZeros<S> extends '0'
      ? never
      : StripZeros<S>
    : never;
type Length<S extends string, A extends 0[] = []> = S extends `${string}${infer Rest}`
  ? Length<Rest, [...A, 0]>
  : A['length'];
/** Whether digit `A` comes before digit `B`. */
type DigitBefore<A extends string, B extends string> = '0123456789' extends `${string}${A}${string}${B}${string}`
  ? true
  : false;
/** Whether digits `A` are at most digits `B` of the same length. */
type AtMost<A extends string, B extends string> = A extends `${infer a}${infer ra}`
  ? B extends `${infer b}${infer rb}`
    ? a extends b
      ? AtMost<ra, rb>
      : DigitBefore<a, b>
    : true
  : true;
/** A multiple numpy takes: at most 2^31 - 1 (digits without leading zeros). */
type FitsMultiple<N extends string> =
  Length<N> extends 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9
    ? true
    : Length<N> extends 10
      ? AtMost<N, '2147483647'>
      : false;
/** One unit's reading of a spelled unit: `'10'` of `'10ms'` for `'ms'`, never for `'s'` (whose count `'10m'` is not digits). */
type MultipleOf<S extends string, U extends TimeUnit> = S extends `${'+' | ''}${infer N}${U}`
  ? Count<N extends `+${infer D}` ? D : N> extends infer C extends string
    ? [C] extends [never]
      ? never
      : C extends '1'
        ? U
        : FitsMultiple<C> extends true
          ? `${C}${U}`
          : never
    : never
  : never;
/** A spelled unit as the runtime reads it: `'010s'` → `'10s'`, `'1s'` → `'s'`; never for a zero multiple. */
type TimeSpec<S extends string> = S extends TimeUnit
  ? S
  : TimeUnit extends infer U
    ? U extends TimeUnit
      ? MultipleOf<S, U>
      : never
    : never;

// ----- Tags ----------------------------------------------------------------------

/** The tag of a numeric dtype: its name, or `'>f4'` for big-endian multi-byte ones. */
export type NumericTag = NumericTypes[NumericCode]['name'] | `>${Exclude<NumericCode, OneByteCode>}`;
/** The tag of bytes, unicode and void dtypes: `'|S5'`, `'<U3'`, `'>U3'`, `'|V8'`. */
export type SizedTag = `|S${number}` | `${'<' | '>'}U${number}` | `|V${number}`;
/** The tag of datetime64/timedelta64 dtypes: `'datetime64[ns]'`, `'>M8[ns]'`, `'datetime64[10s]'`. */
export type TimeTag = `${'datetime64' | 'timedelta64'}[${TimeUnitSpelling}]` | `>${'M' | 'm'}8[${TimeUnitSpelling}]`;

/**
 * A sub-array field's tag: its element dtype's tag and its shape.
 *
 * @example
 * // ['flags', 'S2', [2]] in a record has the field tag readonly ['|S2', [2]]
 */
export type SubArrayTag = readonly [base: DTypeTag, shape: readonly number[]];
/**
 * A record field's tag.
 *
 * @example
 * // the record [['x', 'f4'], ['v', 'f8', [3]]] has the tag { x: 'float32'; v: readonly ['float64', [3]] }
 */
export type FieldTag = DTypeTag | SubArrayTag;
/**
 * A record dtype's tag: field name to field tag.
 *
 * @example
 * const ticks = memmap('t.bin', { dtype: [['time', '<M8[ns]'], ['price', '<f8']] });
 * // Memmap<{ time: 'datetime64[ns]'; price: 'float64' }, 1>
 */
export interface RecordTag {
  readonly [field: string]: FieldTag;
}
/**
 * What names a dtype at the type level: numpy's `str(dtype)` for a
 * non-record dtype (`string` when it is not known), a {@link RecordTag} for a
 * record. The type parameter of {@link NDArray}, {@link Memmap} and {@link DType}.
 *
 * @example
 * function first<D extends DTypeTag>(array: NDArray<D, 1>): ElementOf<D> {
 *   return array.get(0);
 * }
 */
export type DTypeTag = string | RecordTag;

type NameOf<C extends NumericCode> = NumericTypes[C]['name'];
type CodeOfName = { [C in NumericCode as NameOf<C>]: C };
/** A code in a byte order: the name where it is native (or order does not apply), else `'>code'`. */
type Ordered<C extends NumericCode, Big extends boolean> = Big extends true
  ? C extends OneByteCode
    ? NameOf<C>
    : `>${C}`
  : NameOf<C>;
type CodeOfChars<S extends string> = S extends keyof CharCodes
  ? CharCodes[S]
  : S extends NumericCode
    ? S
    : S extends '?1'
      ? 'b1'
      : never;

/** The tag of a string spelling; never for one memmap refuses. */
export type SpellingTag<S extends string> = S extends keyof NameCodes
  ? NameOf<NameCodes[S]>
  : S extends `>${infer Rest}`
    ? UnorderedTag<Rest, true>
    : S extends `${'<' | '=' | '|'}${infer Rest}`
      ? UnorderedTag<Rest, false>
      : S extends `${infer K extends 'datetime64' | 'timedelta64'}[${infer U}]`
        ? `${K}[${TimeSpec<U>}]`
        : UnorderedTag<S, false>;

type UnorderedTag<S extends string, Big extends boolean> =
  CodeOfChars<S> extends infer C extends NumericCode
    ? [C] extends [never]
      ? S extends `${'S' | 'a'}${infer N}`
        ? `|S${Count<N>}`
        : S extends `V${infer N}`
          ? `|V${Count<N>}`
          : S extends `U${infer N}`
            ? `${Big extends true ? '>' : '<'}U${Count<N>}`
            : S extends `${infer K extends 'M' | 'm'}8[${infer U}]`
              ? Big extends true
                ? `>${K}8[${TimeSpec<U>}]`
                : `${K extends 'M' ? 'datetime64' : 'timedelta64'}[${TimeSpec<U>}]`
              : S extends `${infer L extends 'datetime64' | 'timedelta64'}[${infer U}]`
                ? Big extends true
                  ? `>${L extends 'datetime64' ? 'M' : 'm'}8[${TimeSpec<U>}]`
                  : `${L}[${TimeSpec<U>}]`
                : never
      : Ordered<C, Big>
    : never;

/** A field spelling's name (`[title, name]` names it by `name`; `''` is numpy's `f<i>`). */
type FieldName<L, I extends string> = L extends readonly [string, infer N extends string]
  ? FieldName<N, I>
  : L extends ''
    ? `f${I}`
    : L extends string
      ? L
      : never;
type ShapeTuple<S> = S extends number ? [S] : S extends readonly number[] ? [...S] : [];
/** A format (maybe `[base, shape]`, nested) as `[base tag, shape]`. */
type FormatTag<F, Outer extends readonly number[]> = F extends readonly [
  infer B,
  infer S extends number | readonly number[],
]
  ? FormatTag<B, [...Outer, ...ShapeTuple<S>]>
  : Outer extends readonly []
    ? TagOf<F>
    : readonly [TagOf<F>, Outer];
type ListTag<L extends readonly unknown[]> = {
  -readonly [
    I in keyof L & `${number}` as L[I] extends readonly [infer N, ...unknown[]] ? FieldName<N, I> : never
  ]: L[I] extends readonly [unknown, infer F, infer S]
    ? FormatTag<F, ShapeTuple<S>>
    : L[I] extends readonly [unknown, infer F]
      ? FormatTag<F, []>
      : never;
};
type DictTag<Names extends readonly string[], Formats extends readonly unknown[]> = {
  -readonly [I in keyof Names & `${number}` as Names[I]]: I extends keyof Formats ? FormatTag<Formats[I], []> : never;
};

/** numpy's `{ fields, align }` form, as TagOf matches it. */
type FieldsForm<L> = {
  readonly fields: L;
};
/** numpy's dict form, as TagOf matches it. */
type DictForm<N, F> = {
  readonly names: N;
  readonly formats: F;
};

/** Flattens an object type for readable hovers. */
type Pretty<T> = { [K in keyof T]: T[K] } & {};

/**
 * The tag of anything `dtype` accepts: a string spelling, a TypedArray
 * constructor, a DType, a record in list or dict form. A `string` (not a
 * literal) gives `string`: the runtime checks it.
 *
 * @example
 * type A = TagOf<'<f4'>;             // 'float32'
 * type B = TagOf<Float64Array>;      // 'float64'
 * type C = TagOf<'S5'>;              // '|S5'
 * type D = TagOf<[['x', 'i2']]>;     // { x: 'int16' }
 * type E = TagOf<string>;            // string
 */
export type TagOf<D> = D extends string
  ? string extends D
    ? string
    : SpellingTag<D>
  : D extends DType<infer T>
    ? T
    : D extends FieldsForm<infer L extends readonly unknown[]>
      ? number extends L['length']
        ? RecordTag
        : Pretty<ListTag<L>>
      : D extends readonly unknown[]
        ? number extends D['length']
          ? RecordTag
          : Pretty<ListTag<D>>
        : D extends DictForm<infer N extends readonly string[], infer F extends readonly unknown[]>
          ? number extends N['length']
            ? RecordTag
            : Pretty<DictTag<N, F>>
          : D extends abstract new (...args: never[]) => unknown
            ? NameOf<TypedArrayCode<D>>
            : DTypeTag;

// ----- Checking a spelling -------------------------------------------------------

/**
 * What a dtype spelling that memmap does not know is reported as.
 *
 * @example
 * // memmap('a.bin', { dtype: 'flaot32' }) reports:
 * // Type '"flaot32"' is not assignable to type '"flaot32" & NoInfer<NotADType<"flaot32">>'.
 */
export interface NotADType<S> {
  /** memmap knows numpy's spellings: 'float32', 'f4', '<f4', '>i2', 'S5', '<U3', 'M8[ns]', 'datetime64[ms]', ... */
  readonly 'is not a dtype memmap knows': S;
}

/** The spellings inside `D` (records included) that memmap refuses (none when `D` is the whole DTypeLike). */
type BadSpellings<D> = [DTypeLike] extends [D]
  ? never
  : D extends string
    ? string extends D
      ? never
      : [SpellingTag<D>] extends [never]
        ? D
        : never
    : D extends { readonly fields: infer L }
      ? BadSpellings<L>
      : D extends readonly (infer E)[]
        ? number extends D['length']
          ? never
          : E extends readonly [unknown, infer F, ...unknown[]]
            ? BadFormat<F>
            : never
        : D extends { readonly formats: infer Fs extends readonly unknown[] }
          ? number extends Fs['length']
            ? never
            : BadFormat<Fs[number]>
          : never;
type BadFormat<F> = F extends readonly [infer B, number | readonly number[]] ? BadFormat<B> : BadSpellings<F>;

/**
 * What `dtype` must also be for a dtype `D`: `D` itself when every spelling
 * in it is one memmap knows; else a {@link NotADType} naming the spelling,
 * which no value is.
 *
 * @example
 * type Good = CheckDType<'f4'>;      // 'f4'
 * type Bad = CheckDType<'flaot32'>;  // NotADType<'flaot32'>
 */
export type CheckDType<D> = [BadSpellings<D>] extends [never] ? D : NotADType<BadSpellings<D>>;

/**
 * The check memmap() and openMemmap() add to their options: a misspelt
 * dtype literal (records' formats included) does not compile. Kept apart
 * from `dtype?: D` (and out of inference) so that `D` is inferred from the
 * value alone, unions included.
 *
 * @example
 * function open<const D extends DTypeLike>(options: { dtype: D } & DTypeChecked<D>) {
 *   return memmap('a.bin', options);
 * }
 */
export interface DTypeChecked<D> {
  /** `D`, or a NotADType naming a spelling memmap does not know. */
  readonly dtype?: NoInfer<CheckDType<D>>;
}

// ----- What a tag gives ---------------------------------------------------------------

/** The facts of a non-record tag: kind, element value, what set() takes, data. */
type Facts<T> = T extends keyof CodeOfName
  ? NumericFacts<CodeOfName[T], true>
  : T extends `>${infer C extends NumericCode}`
    ? NumericFacts<C, false>
    : T extends `|S${number}`
      ? { kind: 'S'; value: Uint8Array; input: Uint8Array | string; data: Uint8Array }
      : T extends `|V${number}`
        ? { kind: 'V'; value: Uint8Array; input: Uint8Array; data: Uint8Array }
        : T extends `${infer O}U${number}`
          ? { kind: 'U'; value: string; input: string; data: O extends '>' ? NoData<T> : Uint32Array }
          : T extends `datetime64[${string}]` | `>M8[${string}]`
            ? {
                kind: 'M';
                value: bigint;
                input: DatetimeInput;
                data: T extends `>${string}` ? NoData<T> : BigInt64Array;
              }
            : T extends `timedelta64[${string}]` | `>m8[${string}]`
              ? { kind: 'm'; value: bigint; input: TimeInput; data: T extends `>${string}` ? NoData<T> : BigInt64Array }
              : WideFacts;

type NumericFacts<C extends NumericCode, Native extends boolean> = {
  kind: NumericTypes[C]['kind'];
  value: NumericTypes[C]['value'];
  input: NumericTypes[C]['kind'] extends 'c' ? ComplexLike : number | bigint | boolean;
  data: Native extends true ? NumericTypes[C]['data'] : NoData<`>${C}`>;
  code: C;
};

type WideFacts = { kind: string; value: Scalar; input: unknown; data: AnyTypedArrayType };

/**
 * What a datetime64/timedelta64 element takes: a count of its unit, or `'NaT'`.
 *
 * @example
 * const t = memmap('t.bin', { dtype: 'M8[s]', mode: 'w+', shape: 2 });
 * t.set(0, 1700000000n);
 * t.set(1, 'NaT');
 */
export type TimeInput = bigint | number | boolean | 'NaT';

/**
 * What a datetime64 element takes: a count of its unit (as {@link TimeInput}),
 * a `Date`, or an ISO 8601 string as numpy parses it, rounded down to the unit.
 *
 * @example
 * const t = memmap('t.bin', { dtype: 'M8[D]', mode: 'w+', shape: 3 });
 * t.set(0, 19000n);
 * t.set(1, new Date());
 * t.set(2, '2024-02-29');
 */
export type DatetimeInput = TimeInput | Date | string;

/**
 * What a complex element takes: `{ re, im }` (im defaults to 0) or a real number.
 *
 * @example
 * const z = memmap('z.bin', { dtype: 'complex128', mode: 'w+', shape: 3 });
 * z.set(0, { re: 1, im: 2 });
 * z.set(1, { re: 1 }); // im 0
 * z.set(2, 5);         // 5 + 0j
 */
export type ComplexLike = number | bigint | boolean | ComplexParts;

/**
 * A complex value by parts, as set() and fill() take it.
 *
 * @example
 * memmap('z.bin', { dtype: 'complex64', mode: 'w+', shape: 1 }).set(0, { re: 1, im: -1 });
 */
export interface ComplexParts {
  /** The real part. */
  readonly re: number | bigint | boolean;
  /** The imaginary part; 0 when absent. */
  readonly im?: number | bigint | boolean | undefined;
}

/**
 * `data` of a dtype whose bytes are not in this machine's order (`'>f4'`):
 * `never`, as the getter throws ERR_MEMMAP_NO_TYPED_ARRAY (a TypedArray would
 * show the bytes swapped; get(), toArray() and set() convert). Reading a
 * property of it does not compile, and such an array is still an array of
 * the wide type.
 */
export type NoData<T> = T extends string ? never : never;

/**
 * Nested arrays `N` deep (`N` a number literal); `E | nested arrays` when N is not known.
 *
 * @example
 * type A = Nested<number, 2>;        // number[][]
 * type B = Nested<number, 0>;        // number
 * type C = Nested<number, number>;   // number | NestedArray<number>
 */
export type Nested<E, N extends number> = number extends N
  ? E | NestedArray<E>
  : [N] extends [never]
    ? never
    : NestDepth<E, N, []>;
type NestDepth<E, N extends number, C extends 0[]> = C['length'] extends N
  ? E
  : C['length'] extends 64
    ? NestedArray<E>
    : NestDepth<E[], N, [...C, 0]>;
/**
 * Arrays nested to any depth.
 *
 * @example
 * const rows: NestedArray<number> = [1, [2, [3]]];
 */
export type NestedArray<E> = (E | NestedArray<E>)[];
/**
 * What assign() takes: nested arrays of `E` to any depth (broadcast as numpy does).
 *
 * @example
 * memmap('a.bin', { dtype: 'int16', mode: 'w+', shape: [2, 2] }).assign([[1, 2], [3, 4]]);
 */
export type NestedInput<E> = E | readonly NestedInput<E>[];

type FieldValue<F, Out extends boolean> = F extends readonly [infer B, infer S extends readonly number[]]
  ? Out extends true
    ? Nested<ElementOf<B>, S['length']>
    : NestedInput<ElementInput<B>> | (ElementInput<B> extends number ? ArrayLike<number> : never)
  : Out extends true
    ? ElementOf<F>
    : ElementInput<F>;

/**
 * What `get()` returns for a tag: `number`, `bigint`, `boolean`, `{ re, im }`, `Uint8Array`, `string`, or a record object.
 *
 * @example
 * type A = ElementOf<'float32'>;     // number
 * type B = ElementOf<'int64'>;       // bigint
 * type C = ElementOf<'complex64'>;   // Complex
 * type D = ElementOf<{ t: 'datetime64[ns]'; p: 'float64' }>; // { t: bigint; p: number }
 */
export type ElementOf<T> = T extends string
  ? Facts<T>['value']
  : T extends RecordTag
    ? string extends keyof T
      ? RecordValue
      : { [K in keyof T]: FieldValue<T[K], true> }
    : Scalar;

/**
 * What `set()` and `fill()` take for a tag.
 *
 * @example
 * type A = ElementInput<'float32'>;  // number | bigint | boolean
 * type B = ElementInput<'<U3'>;      // string
 */
export type ElementInput<T> = T extends string
  ? Facts<T>['input']
  : T extends RecordTag
    ? string extends keyof T
      ? unknown
      : { readonly [K in keyof T]: FieldValue<T[K], false> } | readonly FieldValue<T[keyof T], false>[]
    : unknown;

/**
 * What `data` is for a tag; a `NoData` (never) where the bytes are not in native order.
 *
 * @example
 * type A = DataOf<'float32'>;        // Float32Array
 * type B = DataOf<'bool'>;           // Uint8Array
 * type C = DataOf<'>f4'>;            // never: the getter throws
 */
export type DataOf<T> = T extends string ? Facts<T>['data'] : T extends RecordTag ? Uint8Array : AnyTypedArrayType;

/**
 * What `read()` returns and `write()` takes for a tag: the TypedArray `data`
 * gives, in this machine's byte order whatever the dtype's (the copy
 * converts); the wide TypedArray type where it is not known.
 *
 * @example
 * type A = LanesOf<'float32'>;       // Float32Array
 * type B = LanesOf<'>f4'>;           // a TypedArray (the copy is in native order)
 */
export type LanesOf<T> = [DataOf<T>] extends [never] ? AnyTypedArrayType : DataOf<T>;

/**
 * numpy's kind character of a tag (`string` when not known; records are `'V'`).
 *
 * @example
 * type A = KindOf<'uint16'>;         // 'u'
 * type B = KindOf<'datetime64[s]'>;  // 'M'
 */
export type KindOf<T> = T extends string ? Facts<T>['kind'] : 'V';

/**
 * numpy's `dtype.str` (the `.npy` descr) of a non-record tag, on a
 * little-endian machine: `'float32'` → `'<f4'`, `'bool'` → `'|b1'`,
 * `'datetime64[ns]'` → `'<M8[ns]'`; `string` when not known.
 *
 * @example
 * type A = DescrOf<'float32'>;       // '<f4'
 * type B = DescrOf<'bool'>;          // '|b1'
 */
export type DescrOf<T extends string> = string extends T
  ? string
  : T extends keyof CodeOfName
    ? `${CodeOfName[T] extends OneByteCode ? '|' : '<'}${CodeOfName[T]}`
    : T extends `datetime64[${infer U}]`
      ? `<M8[${U}]`
      : T extends `timedelta64[${infer U}]`
        ? `<m8[${U}]`
        : T;

/**
 * What `dtype` (numpy's `str(dtype)`) is: the tag itself, or `string` for records.
 *
 * @example
 * type A = DTypeStr<'>f4'>;          // '>f4'
 * type B = DTypeStr<{ x: 'int8' }>;  // string
 */
export type DTypeStr<T> = T extends string ? T : string;

/**
 * The field names of a record tag (`string` when not known; never for non-records).
 *
 * @example
 * type A = FieldNames<{ time: 'datetime64[ns]'; price: 'float64' }>; // 'time' | 'price'
 * type B = FieldNames<'float32'>;    // never
 */
export type FieldNames<T> = T extends string
  ? string extends T
    ? string
    : never
  : string extends keyof T
    ? string
    : keyof T & string;

/**
 * The tag of field `K` of record tag `T`, sub-array shape aside (any tag when `T` is not a known record).
 *
 * @example
 * type A = FieldBase<{ flags: readonly ['|S2', [2]] }, 'flags'>; // '|S2'
 */
export type FieldBase<T, K> = [T] extends [RecordTag]
  ? string extends keyof T
    ? DTypeTag
    : K extends keyof T
      ? T[K] extends readonly [infer B extends DTypeTag, readonly number[]]
        ? B
        : T[K] extends infer F extends DTypeTag
          ? F
          : DTypeTag
      : DTypeTag
  : DTypeTag;

/**
 * How many axes field `K` of record tag `T` adds (its sub-array's; number when `T` is not a known record).
 *
 * @example
 * type A = FieldAxes<{ flags: readonly ['|S2', [2]] }, 'flags'>; // 1
 */
export type FieldAxes<T, K> = [T] extends [RecordTag]
  ? string extends keyof T
    ? number
    : K extends keyof T
      ? T[K] extends readonly [DTypeTag, infer S extends readonly number[]]
        ? S['length']
        : 0
      : number
  : number;

// ----- Reductions: numpy's result types ----------------------------------------

/**
 * numpy's `sum()` result: int64/uint64 (`bigint`) for bool and integers,
 * `number` for floats, `{ re, im }` for complex, a `bigint` count for
 * timedelta64; never for dtypes numpy does not add (datetime64, bytes,
 * unicode, void, records), whose reductions do not compile.
 *
 * @example
 * type A = SumOf<'int16'>;           // bigint
 * type B = SumOf<'float32'>;         // number
 * type C = SumOf<'timedelta64[s]'>;  // bigint
 * type D = SumOf<'datetime64[s]'>;   // never
 */
export type SumOf<T> =
  KindOf<T> extends infer K
    ? K extends 'b' | 'i' | 'u' | 'm'
      ? bigint
      : K extends 'f'
        ? number
        : K extends 'c'
          ? Complex
          : string extends K
            ? Scalar
            : never
    : never;

/**
 * numpy's `min()`/`max()` result: the element type (bool, numbers, bigint for 64-bit and time, complex).
 *
 * @example
 * type A = ExtremumOf<'int16'>;      // number
 * type B = ExtremumOf<'uint64'>;     // bigint
 */
export type ExtremumOf<T> =
  KindOf<T> extends infer K
    ? K extends 'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm'
      ? ElementOf<T>
      : string extends K
        ? Scalar
        : never
    : never;

/**
 * numpy's `mean()` result: float64 (`number`), `{ re, im }` for complex, a `bigint` count for timedelta64.
 *
 * @example
 * type A = MeanOf<'int16'>;          // number
 * type B = MeanOf<'complex64'>;      // Complex
 * type C = MeanOf<'timedelta64[s]'>; // bigint
 */
export type MeanOf<T> =
  KindOf<T> extends infer K
    ? K extends 'b' | 'i' | 'u' | 'f'
      ? number
      : K extends 'c'
        ? Complex
        : K extends 'm'
          ? bigint
          : string extends K
            ? number | Complex | bigint
            : never
    : never;

/**
 * `T` where numpy's `sum()`/`mean()` are defined for it, else never (the `this` of those methods).
 *
 * @example
 * // sum(this: NDArray<Summable<D>, N>): a datetime64 array's sum() does not compile
 */
export type Summable<T> = [SumOf<T>] extends [never] ? never : T;
/**
 * `T` where numpy's `min()`/`max()` are defined for it, else never.
 *
 * @example
 * // min(this: NDArray<Comparable<D>, N>): a bytes array's min() does not compile
 */
export type Comparable<T> = [ExtremumOf<T>] extends [never] ? never : T;

/**
 * numpy's `prod()` result: as {@link SumOf} but not for timedelta64 (numpy refuses to multiply them).
 *
 * @example
 * type A = ProdOf<'int16'>;          // bigint
 * type B = ProdOf<'timedelta64[s]'>; // never
 */
export type ProdOf<T> = KindOf<T> extends 'm' ? never : SumOf<T>;

/**
 * numpy's `std()`/`var()` result: a number (float64 for bool and integers,
 * the float's own dtype, the real dtype for complex); not for datetimes.
 *
 * @example
 * type A = SpreadOf<'int16'>;        // number
 * type B = SpreadOf<'datetime64[s]'>; // never
 */
export type SpreadOf<T> =
  KindOf<T> extends infer K
    ? K extends 'b' | 'i' | 'u' | 'f' | 'c'
      ? number
      : string extends K
        ? number
        : never
    : never;

/**
 * `T` where numpy's `prod()` is defined for it, else never.
 *
 * @example
 * // prod(this: NDArray<Multipliable<D>, N>): a timedelta64 array's prod() does not compile
 */
export type Multipliable<T> = [ProdOf<T>] extends [never] ? never : T;

/**
 * `T` where numpy's `std()`/`var()` are defined for it, else never.
 *
 * @example
 * // std(this: NDArray<Spreadable<D>, N>): a datetime64 array's std() does not compile
 */
export type Spreadable<T> = [SpreadOf<T>] extends [never] ? never : T;

/**
 * The dtype of `sum({ axis })`/`prod({ axis })` results: int64 for bool and
 * signed integers, uint64 for unsigned, the dtype itself otherwise.
 *
 * @example
 * type A = SumDtype<'int16'>;   // 'int64'
 * type B = SumDtype<'float32'>; // 'float32'
 */
export type SumDtype<T> =
  KindOf<T> extends infer K
    ? K extends 'b' | 'i'
      ? 'int64'
      : K extends 'u'
        ? 'uint64'
        : T extends DTypeTag
          ? T
          : DTypeTag
    : never;

/**
 * The dtype of `mean({ axis })` results: float64 for bool and integers, the dtype itself otherwise.
 *
 * @example
 * type A = MeanDtype<'uint8'>;   // 'float64'
 * type B = MeanDtype<'float32'>; // 'float32'
 */
export type MeanDtype<T> =
  KindOf<T> extends infer K ? (K extends 'b' | 'i' | 'u' ? 'float64' : T extends DTypeTag ? T : DTypeTag) : never;

/**
 * The dtype of `std({ axis })`/`var({ axis })` results: float64 for bool,
 * integers and complex128, float32 for complex64, a float's own dtype.
 *
 * @example
 * type A = SpreadDtype<'int8'>;      // 'float64'
 * type B = SpreadDtype<'complex64'>; // 'float32'
 */
export type SpreadDtype<T> =
  KindOf<T> extends infer K
    ? K extends 'f'
      ? T extends DTypeTag
        ? T
        : 'float64'
      : T extends 'complex64' | '<c8' | '>c8' | 'c8'
        ? 'float32'
        : 'float64'
    : never;

// ----- Shapes ------------------------------------------------------------------------

/**
 * A tuple of `N` `T`s (`T[]` when `N` is not a literal).
 *
 * @example
 * type A = Tuple<number, 3>;         // [number, number, number]
 * type B = Tuple<number, number>;    // number[]
 */
export type Tuple<T, N extends number> = number extends N
  ? T[]
  : [N] extends [never]
    ? never
    : TupleOf<T, N, []> extends infer R extends T[]
      ? R
      : never;
/** Counts up to `N` (at most 64 axes, numpy's limit; a non-integer `N` stops there too). */
type TupleOf<T, N extends number, Acc extends T[]> = Acc['length'] extends N
  ? Acc
  : Acc['length'] extends 64
    ? T[]
    : TupleOf<T, N, [...Acc, T]>;

/**
 * The shape of an `N`-dimensional array: a readonly tuple when `N` is known.
 *
 * @example
 * const [rows, cols] = memmap('a.bin', { mode: 'w+', shape: [3, 4] }).shape; // ShapeOf<2>
 */
export type ShapeOf<N extends number> = Readonly<Tuple<number, N>>;

/**
 * `N - 1` (number when not known).
 *
 * @example
 * type A = Minus1<3>;                // 2
 */
export type Minus1<N extends number> = number extends N
  ? number
  : Tuple<0, N> extends [0, ...infer Rest]
    ? Rest['length']
    : never;

/**
 * `A + B` (number when either is not known).
 *
 * @example
 * type A = Plus<1, 2>;               // 3
 */
export type Plus<A extends number, B extends number> = number extends A | B
  ? number
  : [...Tuple<0, A>, ...Tuple<0, B>]['length'] & number;

/**
 * A shape as options take it: a number (1-D) or one number per axis.
 *
 * @example
 * memmap('a.bin', { mode: 'w+', shape: 10 });      // 1-D
 * memmap('b.bin', { mode: 'w+', shape: [10, 3] }); // 2-D
 */
export type ShapeLike = number | bigint | readonly (number | bigint)[];

/**
 * `ndim` for a `shape` option: 1 for a number or no shape, the tuple's length, or number.
 *
 * @example
 * type A = NdimOf<readonly [3, 4]>;  // 2
 * type B = NdimOf<10>;               // 1
 * type C = NdimOf<number[]>;         // number
 */
export type NdimOf<S> = S extends number | bigint
  ? 1
  : S extends readonly (number | bigint)[]
    ? number extends S['length']
      ? number
      : S['length']
    : S extends undefined | null
      ? 1
      : number;
