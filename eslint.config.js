// Lint exists here mainly to hold the package boundaries of DESIGN §6.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const deepImports = {
  group: ['@ferry/*/*', '**/servers/*/src/**', '**/admin/*/src/**', '../../*/src/**'],
  message: "Import a package's public index (e.g. '@ferry/core'), never its files.",
};
const otherDaemons = ['@ferry/httpd', '@ferry/sshd', '@ferry/ftpd', '@ferry/as2d', '@ferry/pesitd', '@ferry/node', '@ferry/admin-api', '@ferry/cli'];
const protocolLibraries = ['fastify', 'ssh2', 'ftp-srv', 'basic-ftp', '@fastify/*'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'test-results/**', '.bench/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      'no-restricted-imports': ['error', { patterns: [deepImports] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A daemon sees only @ferry/core, and its protocol library only from driver.ts.
    files: ['servers/{httpd,sshd,ftpd,as2d,pesitd}/src/**/*.ts'],
    ignores: ['servers/*/src/driver.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [deepImports, { group: protocolLibraries, message: 'Only driver.ts imports the protocol library.' }],
        paths: otherDaemons.map((name) => ({ name, message: 'Daemons import only @ferry/core, never each other.' })),
      }],
    },
  },
  {
    files: ['servers/{httpd,sshd,ftpd,as2d,pesitd}/src/driver.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [deepImports],
        paths: otherDaemons.map((name) => ({ name, message: 'Daemons import only @ferry/core, never each other.' })),
      }],
    },
  },
  {
    // The transaction manager sees @ferry/core and as2d's sender library, never a daemon; each
    // outbound protocol library is imported by its own client file only.
    files: ['transaction-manager/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [deepImports],
        paths: [
          ...otherDaemons.filter((name) => name !== '@ferry/as2d').map((name) => ({ name, message: 'The transaction manager imports only @ferry/core and the AS2 sender of @ferry/as2d.' })),
          ...['ssh2', 'basic-ftp', 'ftp-srv', 'fastify', 'undici'].map((name) => ({ name, message: 'Only the client file of its protocol in src/outbound/ imports it.' })),
        ],
      }],
    },
  },
  {
    files: ['transaction-manager/src/outbound/sftp.ts', 'transaction-manager/src/outbound/ftp.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deepImports] }] },
  },
  {
    files: ['servers/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [deepImports, { group: ['@ferry/*'], message: 'core depends on no other Ferry package.' }] }],
    },
  },
);
