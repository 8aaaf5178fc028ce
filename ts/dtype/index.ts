/**
 * The dtype modules, for the rest of the library: import from here. Inside
 * ts/dtype/ the modules import each other in one direction only:
 * dtype.ts → codecs.ts → table.ts → records.ts → parse.ts.
 */
export { NAT, NATIVE_LITTLE_ENDIAN, DType } from './dtype';
export type {
  AnyTypedArray,
  Codec,
  Coerced,
  Complex,
  DTypeRow,
  ElementKind,
  Field,
  Kind,
  RecordValue,
  Scalar,
  TypedArrayConstructor,
} from './dtype';
export { elementView } from './codecs';
export { DTYPE_ROWS, dtypeOf, TIME_UNITS } from './table';
export { descrOf, structStr } from './records';
export { descrToRecord, parseDType, publicParseDType } from './parse';
export type { AlignedFields, DTypeLike, FieldFormat, FieldSpec, StructuredDict } from './parse';
