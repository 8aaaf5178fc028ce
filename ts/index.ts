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
export { memmap, Memmap } from './memmap';
export type { DescriptorRecord, MemmapDescriptor } from './memmap';
export type { Advice, FileLike, MemmapOptions, Mode, ModeLike } from './options';
export { openMemmap } from './npy';
export type { OpenMemmapOptions } from './npy';
export { DType, parseDType } from './dtype';
export type { Complex, DTypeLike, FieldSpec, Scalar, StructuredDict } from './dtype';
export type { Field, RecordValue } from './dtype';
export { ERROR_CLASSES } from './errors';
export type { ErrorCode, MemmapError } from './errors';
