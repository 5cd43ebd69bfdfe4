import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The page's three files, as the server sends them. */
export interface DashboardAssets {
  html: Buffer;
  css: Buffer;
  js: Buffer;
  /** How long bundling took, ms. */
  bundleMs: number;
}

/**
 * Bundles the browser code (api/dashboard/browser/, with Observable Plot and its d3 modules from
 * node_modules) into one minified script, at serve time, so no asset ever comes from outside the
 * machine and nothing built is committed.
 */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const started = performance.now();
  const [result, html, css] = await Promise.all([
    build({
      entryPoints: [join(HERE, 'browser', 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'],
      minify: true,
      write: false,
      legalComments: 'none',
      logLevel: 'silent',
    }),
    readFile(join(HERE, 'static', 'index.html')),
    readFile(join(HERE, 'static', 'dashboard.css')),
  ]);
  return { html, css, js: Buffer.from(result.outputFiles[0].contents), bundleMs: Math.round(performance.now() - started) };
}
