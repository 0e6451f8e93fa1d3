import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * The floors of src/ (docs/architecture.md): a folder imports only from its own floor and the ones
 * below. Files directly in src/ are the public entry points, above everything.
 */
const floors = [
  ['platform'],
  ['model'],
  ['bus', 'store', 'queue', 'workspace', 'runners', 'telemetry'],
  ['gate', 'routing', 'roles', 'machines', 'tasks'],
  ['runtime'],
  ['distributed', 'intake', 'mediator', 'notify', 'config'],
  ['app', 'cli', 'testing'],
];
const floorZones = floors.flatMap((folders, level) => {
  const above = floors.slice(level + 1).flat();
  return above.length === 0
    ? []
    : folders.map((folder) => ({
        target: `./src/${folder}`,
        from: [...above.map((f) => `./src/${f}/**`), './src/*.ts'],
        message: `src/${folder} is on floor ${level}; it may import only from floors 0-${level} (see docs/architecture.md)`,
      }));
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'examples/', 'bin/', '**/.tandem/', 'deploy/work/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: floorZones }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of enum.' },
        { selector: 'ExportAllDeclaration', message: 'Export by name, not `export *`.' },
      ],
    },
    // Sources import `./x.js` for `./x.ts` (NodeNext); without the alias nothing resolves and the
    // floor and cycle rules would silently check nothing.
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'], extensionAlias: { '.js': ['.ts', '.js'] } })] },
  },
  {
    files: ['eslint.config.js', '.ci/*.mjs', 'scripts/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false }, globals: { console: 'readonly', URL: 'readonly', process: 'readonly' } },
  },
);
