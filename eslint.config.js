// @ts-check
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const isomorphicMessage = 'packages/core is pure and isomorphic: no Node built-ins, no Buffer, no other workspace package';

/** Everything that would tie core to Node or to another layer. */
const coreRestrictedImports = [
  'error',
  {
    paths: builtinModules.map((name) => ({ name, message: isomorphicMessage })),
    patterns: [
      { regex: '^node:', message: isomorphicMessage },
      { regex: '^@coffer/', message: isomorphicMessage },
      { regex: '^(\\.\\./){2,}', message: 'core source must not import from outside packages/core/src' },
    ],
  },
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: false }],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': coreRestrictedImports,
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: isomorphicMessage },
        { name: 'process', message: isomorphicMessage },
        { name: 'require', message: isomorphicMessage },
        { name: '__dirname', message: isomorphicMessage },
        { name: 'global', message: isomorphicMessage },
      ],
    },
  },
  {
    // Core's tests run in Chromium too, so the same limits apply, except that
    // they may read repository files (docs, vectors) through Vite imports.
    files: ['packages/core/test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'core tests run in a browser too' })),
          patterns: [{ regex: '^node:', message: 'core tests run in a browser too' }],
        },
      ],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'core tests run in a browser too' }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
