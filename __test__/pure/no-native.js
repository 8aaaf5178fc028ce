// The pure test project maps the native addon here: a pure module that loads
// it (through ts/binding.ts) fails its test instead of quietly needing a build.
throw new Error('a pure module loaded the native binding (native/index.js): pure modules import no binding');
