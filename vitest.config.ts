import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/**
 * Two projects run the same portable tests (core, and the engine's reading of what Node wrote):
 * in Node, and in Debian's Chromium driven by Playwright. The browser is never downloaded by a test tool:
 * scripts/ensure-chromium.ts installs the Debian package when it is missing.
 */
const CHROMIUM = process.env.COFFER_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const portableTests = ['packages/core/test/**/*.test.ts', 'packages/engine/test/portable/**/*.test.ts'];
/** Node-only suites: the engine (filesystem, S3, WebDAV drivers), the CLI, the server and the client SDK against it. */
const nodeTests = ['packages/engine/test/*.test.ts', 'packages/cli/test/**/*.test.ts', 'packages/server/test/**/*.test.ts', 'packages/client/test/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'node', include: [...portableTests, ...nodeTests], environment: 'node', testTimeout: 120_000 },
      },
      {
        test: {
          name: 'browser',
          include: portableTests,
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
