/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] };

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      // The pure modules (shape, indexing, Python literals, repr, dtypes, the
      // .npy header) are tested with the native binary made unreachable.
      displayName: 'pure',
      testEnvironment: 'node',
      roots: ['<rootDir>/__test__/pure'],
      testMatch: ['**/*.test.ts'],
      moduleNameMapper: { '^(.*)/native/index(\\.js)?$': '<rootDir>/__test__/pure/no-native.js' },
      transform,
    },
    {
      displayName: 'node',
      testEnvironment: 'node',
      roots: ['<rootDir>/__test__'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/__test__/pure/', '/__test__/soak/'],
      transform,
    },
    {
      // Long runs (npm run soak): not part of npm test; .ci/run runs them too.
      displayName: 'soak',
      testEnvironment: 'node',
      roots: ['<rootDir>/__test__/soak'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
  ],
};
