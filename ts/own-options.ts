/**
 * The one rule every options object of the API follows: it is a plain
 * object (an object literal, a spread of one, `Object.create(null)`, a
 * structured clone), and only its own properties are options. Anything
 * else is an error naming the argument, never silently ignored: a Map, a
 * class instance or an object inheriting from another object is
 * ERR_MEMMAP_INVALID_ARG; a symbol key, or a name the function does not
 * take, is ERR_MEMMAP_UNKNOWN_OPTION. What the callers read is a copy of
 * the own properties with no prototype, so an inherited property (from a
 * prototype or a polluted Object.prototype) is never read as an option.
 */
import { memmapError, show } from './errors';

const FUNCTION_SOURCE = Function.prototype.toString;
const OBJECT_SOURCE = FUNCTION_SOURCE.call(Object);

/** Object.prototype, of this realm or of another (a vm context's, jest's), or null. */
function isPlainPrototype(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype) return true;
  if (Object.getPrototypeOf(proto) !== null) return false;
  const constructor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof constructor === 'function' && FUNCTION_SOURCE.call(constructor) === OBJECT_SOURCE;
}

/**
 * `options`' own properties, checked against `known`, as a new object
 * without a prototype. `argument` names the options in messages (`sum()
 * options`); `unknown` builds the error for a key the function does not take.
 */
export function ownOptions(
  options: object,
  argument: string,
  known: (key: string) => boolean,
  unknown: (key: string | symbol) => Error,
): Record<string, unknown> {
  if (!isPlainPrototype(Object.getPrototypeOf(options) as object | null)) {
    const shown = show(options);
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${argument} must be a plain object ({ ... } or Object.create(null)): options are its own properties; got ${
        shown.startsWith('[object ') ? shown : `an object that inherits from another, ${shown}`
      }`,
    );
  }
  const given: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key !== 'string' || !known(key)) throw unknown(key);
    given[key] = (options as Record<string, unknown>)[key];
  }
  return given;
}
