/** Which C library this Linux process runs on, as napi-rs names platform packages. */
import { readFileSync } from 'node:fs';

export function familySync(): 'gnu' | 'musl' {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    if (report?.header?.glibcVersionRuntime) return 'gnu';
  } catch {
    // fall through to the file check
  }
  try {
    return readFileSync('/usr/bin/ldd', 'latin1').includes('musl') ? 'musl' : 'gnu';
  } catch {
    return 'gnu';
  }
}
