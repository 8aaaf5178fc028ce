// Checks TypeDoc's JSON model (temp/api.json, written by `npm run docs`): every public
// declaration and every member of a public class has a doc comment with an @example.
// Properties of interfaces and object types need a comment only (TypeDoc's notDocumented
// validation checks that): the interface's own example shows them in use.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const model = JSON.parse(readFileSync(join(__dirname, '..', 'temp', 'api.json'), 'utf8'));
// TypeDoc's ReflectionKind values.
const KIND = {
  Variable: 32,
  Function: 64,
  Class: 128,
  Interface: 256,
  Constructor: 512,
  Property: 1024,
  Method: 2048,
  Accessor: 262144,
  TypeAlias: 2097152,
};

const hasExample = (comment) => (comment?.blockTags ?? []).some((tag) => tag.tag === '@example');
/** A declaration's comment lives on it or, for functions, methods and accessors, on a signature. */
const comments = (r) => [r.comment, ...(r.signatures ?? []).map((s) => s.comment), r.getSignature?.comment];

const missing = [];
const check = (r, path) => {
  if (!comments(r).some(hasExample)) missing.push(`${path} (${Object.keys(KIND).find((k) => KIND[k] === r.kind)})`);
};

for (const top of model.children ?? []) {
  if ([KIND.Variable, KIND.Function, KIND.Class, KIND.Interface, KIND.TypeAlias].includes(top.kind))
    check(top, top.name);
  if (top.kind !== KIND.Class) continue;
  for (const member of top.children ?? []) {
    if (member.kind === KIND.Constructor || member.flags?.isPrivate || member.flags?.isProtected) continue;
    // Members a class inherits are documented (and checked) where they are declared.
    if (member.inheritedFrom !== undefined) continue;
    // An override that says nothing new keeps its base's documentation.
    if (member.overwrites !== undefined && !comments(member).some(Boolean)) continue;
    check(member, `${top.name}.${member.name}`);
  }
}

if (missing.length > 0) {
  console.error(`check-docs: ${missing.length} public declarations have no @example:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log('check-docs: every public declaration and class member has an @example');
