// Unit tests of the dashboard's pure logic under node's test runner. The TypeScript sources are
// bundled first with the Vite already installed for the build (no extra dependency); node:* stays
// external. Usage: node test/run.mjs (npm test).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'ps-frontend-test-'));
try {
  await build({
    configFile: false,
    logLevel: 'error',
    build: {
      outDir: out,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      lib: { entry: join(here, 'unit.test.ts'), formats: ['es'], fileName: () => 'unit.test.mjs' },
      rollupOptions: { external: [/^node:/] },
    },
  });
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', join(out, 'unit.test.mjs')], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
