/**
 * What the engine itself says about a TypedArray, through the getters of
 * %TypedArray%.prototype captured once at load: its kind, length, buffer,
 * byteOffset and byteLength read from its internal slots. An own property
 * (`Object.defineProperty(t, 'length', { value: 4096 })`), a `constructor`
 * that names another kind, a swapped prototype or a Proxy cannot change
 * these answers, so a count and the bytes it counts always agree. Anything
 * that is not a TypedArray (a DataView, a Proxy of one, a lookalike) has no
 * kind here. Pure; no imports but a type.
 */
import type { TypedArrayConstructor } from './dtype/dtype';

/** Every TypedArray kind, as its constructor: the dtypes' ten and Uint8ClampedArray. */
export type AnyTypedArrayConstructor = TypedArrayConstructor | Uint8ClampedArrayConstructor;

/** Any TypedArray (of any kind and buffer), as these functions read it. */
export type IntrinsicTypedArray = ArrayBufferView & { readonly [index: number]: unknown };

const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;

function intrinsicGetter<T>(key: PropertyKey): (this: unknown) => T {
  const get = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)?.get;
  if (get === undefined) throw new Error(`%TypedArray%.prototype has no getter ${String(key)}`);
  return get as (this: unknown) => T;
}

/** The kind (`'Float64Array'`) of a TypedArray; `undefined` for any other value, without throwing. */
const KIND = intrinsicGetter<string | undefined>(Symbol.toStringTag);
const LENGTH = intrinsicGetter<number>('length');
const BYTE_LENGTH = intrinsicGetter<number>('byteLength');
const BYTE_OFFSET = intrinsicGetter<number>('byteOffset');
const BUFFER = intrinsicGetter<ArrayBufferLike>('buffer');

/** This realm's constructor of each kind (Float16Array too where the runtime has it). */
const CONSTRUCTORS: ReadonlyMap<string, AnyTypedArrayConstructor> = new Map(
  [
    'Int8Array',
    'Uint8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'BigInt64Array',
    'BigUint64Array',
    'Float16Array',
    'Float32Array',
    'Float64Array',
  ]
    .map((name) => [name, (globalThis as Record<string, unknown>)[name]] as const)
    .filter((entry): entry is readonly [string, AnyTypedArrayConstructor] => typeof entry[1] === 'function'),
);

/** The kind of `value` (`'Float64Array'`) if it is a TypedArray (of any realm), else undefined. */
export function typedArrayKind(value: unknown): string | undefined {
  return KIND.call(value);
}

/** Whether `value` is a TypedArray (not a DataView, not a Proxy or lookalike). */
export function isTypedArray(value: unknown): value is IntrinsicTypedArray {
  return KIND.call(value) !== undefined;
}

/**
 * This realm's constructor of `value`'s kind (whatever its `constructor`
 * property or prototype says), or undefined if it is not a TypedArray.
 */
export function typedArrayConstructor(value: unknown): AnyTypedArrayConstructor | undefined {
  const kind = KIND.call(value);
  return kind === undefined ? undefined : CONSTRUCTORS.get(kind);
}

/** The constructor captured at load, whatever later code does to the global. */
const UINT8 = Uint8Array;

/** The number of elements of a TypedArray, from its internal slots. */
export function typedLength(typed: IntrinsicTypedArray): number {
  return LENGTH.call(typed);
}

/**
 * Whether a TypedArray's buffer was detached (transferred away): it then reads
 * as empty, and a view of its bytes cannot be made.
 */
export function isDetached(typed: IntrinsicTypedArray): boolean {
  if (BYTE_LENGTH.call(typed) !== 0) return false;
  try {
    new UINT8(BUFFER.call(typed), 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** A Uint8Array over exactly the bytes of a TypedArray (no copy), from its internal slots. */
export function typedBytes(typed: IntrinsicTypedArray): Uint8Array {
  return new UINT8(BUFFER.call(typed), BYTE_OFFSET.call(typed), BYTE_LENGTH.call(typed));
}
