#!/usr/bin/env node
// Renders `pofbench report` of a session to HTML and takes a full-page screenshot of it with headless Chromium
// (JavaScript off, network off), as test/report-html.it.test.ts does. Makes the README's docs/report-screenshot.png:
//   node scripts/report-screenshot.mjs results/<session-id> docs/report-screenshot.png
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [session, png, width = '1150'] = process.argv.slice(2);
if (!session || !png) {
  console.error('usage: node scripts/report-screenshot.mjs SESSION_DIR OUT.png [WIDTH]');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pofb-screenshot-'));
const html = join(tmp, 'report.html');
try {
  execFileSync(process.execPath, [join(root, 'bin', 'pofbench'), 'report', resolve(session), '--html', html], {
    stdio: 'inherit',
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      offline: true,
      viewport: { width: Number(width), height: 900 },
    });
    const page = await context.newPage();
    await page.goto(pathToFileURL(html).href);
    await page.screenshot({ path: resolve(png), fullPage: true });
  } finally {
    await browser.close();
  }
  console.error(`screenshot: ${resolve(png)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
