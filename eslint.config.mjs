// `npm run lint`. ESLint's and typescript-eslint's recommended rules, plus the type-aware
// promise rules: a promise nobody awaits or catches loses its rejection (an unhandled
// rejection ends the process on Node 20), so `no-floating-promises` and `no-misused-promises`
// are errors. A promise left to run on purpose is written `void p` with a comment saying why.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', '.bench-results/', 'pulp-data/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }]
    }
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    // scripts/ is plain CommonJS run by Node.
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' }
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    rules: {
      // Lines stay readable in a side-by-side diff. A line holding a URL, a string or a template
      // literal (messages, fixtures, OpenAPI descriptions) may run past: breaking the text hides
      // it. The options exempt the whole line, not only the literal; a narrower exemption (an
      // `ignorePattern` for literals of 50 characters or more) would flag about 300 more lines.
      'max-len': ['error', {
        code: 140,
        ignoreUrls: true,
        ignoreStrings: true,
        ignoreTemplateLiterals: true,
        ignoreRegExpLiterals: true
      }],
      // `_name` marks a parameter a signature needs but the body does not read.
      // `cond ? resolve(x) : reject(err)` is how the hand-wrapped fs callbacks settle.
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true }],
      // `catch {}` marks a best-effort step whose failure has a fallback right after it.
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_',
        varsIgnorePattern: '^_',
        caughtErrors: 'none'
      }]
    }
  }
)
