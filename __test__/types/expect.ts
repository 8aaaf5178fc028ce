/**
 * Compile-time assertions for the type tests in this folder (checked by tsc,
 * never run): `exactly<T>()(value)` does not compile unless `value`'s type is
 * exactly `T`; `@ts-expect-error` marks what must not compile (and is itself
 * an error if the line compiles).
 */

/** `true` when `X` and `Y` are the same type (not merely assignable). */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** A compile error unless `T` is `true`. */
export type Expect<T extends true> = T;

/** `exactly<number>()(a.get(0))`: a compile error (asking for two more arguments) unless the type is exactly `T`. */
export function exactly<T>() {
  return <U>(value: U, ..._mismatch: Equal<T, U> extends true ? [] : [expected: T, got: U]): U => value;
}

/** A value of type `T`, to write type tests without running anything. */
export declare function given<T>(): T;
