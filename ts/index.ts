/**
 * memmap: numpy.memmap for Node.js. The public surface, one file of re-exports.
 *
 * @example
 * import { memmap } from 'memmap';
 * const fp = memmap('newfile.dat', { dtype: 'float32', mode: 'w+', shape: [3, 4] });
 * fp.assign([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
 * fp.flush();
 * fp.close();
 */
export { NDArray } from './ndarray';
export type {
  ArgOptions,
  ArraySource,
  AssignSource,
  RowSource,
  AsyncOptions,
  AxisResult,
  Getter,
  IterationItem,
  ReduceOptions,
  SpreadOptions,
  SumOptions,
  WhereMask,
  WhereOptions,
} from './ndarray';
export type { ReductionName } from './reduce-options';
export type { ArrayFlags, BlocksOptions, ToArrayOptions } from './convert';
export { memmap, Memmap } from './memmap';
export type { DescriptorRecord, MemmapDescriptor, MemmapIterationItem } from './memmap';
export type { Advice, FileLike, MemmapOptions, Mode, ModeLike } from './options';
export type { Order } from './shape';
export { openMemmap } from './npy';
export type { NpyVersion, OpenMemmapNdim, OpenMemmapOptions, OpenMemmapTag } from './npy';
export { openNpz, NpzArchive } from './npz';
export type { NpzGetOptions, NpzMemberSpec, OpenNpzOptions } from './npz';
export { DType, publicParseDType as parseDType } from './dtype';
export type {
  Complex,
  DTypeLike,
  FieldFormat,
  FieldSpec,
  Scalar,
  StructuredDict,
  TypedArrayConstructor,
} from './dtype';
export type { AlignedFields, Field, RecordValue } from './dtype';
// The dtype table at the type level (ts/dtype/types.ts): what generic code over arrays names.
export type {
  CheckDType,
  Comparable,
  ComplexLike,
  ComplexParts,
  DataOf,
  DatetimeInput,
  DescrOf,
  DTypeChecked,
  DTypeSpelling,
  DTypeStr,
  DTypeTag,
  ElementInput,
  ElementOf,
  ExtremumOf,
  FieldAxes,
  FieldBase,
  FieldNames,
  FieldTag,
  KindOf,
  LanesOf,
  MeanDtype,
  MeanOf,
  Minus1,
  Multipliable,
  NdimOf,
  Nested,
  NestedArray,
  NestedInput,
  NotADType,
  Plus,
  ProdOf,
  RecordTag,
  ShapeLike,
  ShapeOf,
  SpreadDtype,
  Spreadable,
  SpreadOf,
  SubArrayTag,
  SumDtype,
  SumOf,
  Summable,
  TagOf,
  TimeInput,
  TimeUnit,
  TimeUnitSpelling,
  Tuple,
} from './dtype/types';
export { ERROR_CLASSES } from './errors';
export type { ErrorCode, MemmapError } from './errors';
