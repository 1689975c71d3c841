// SPDX-License-Identifier: Apache-2.0
// Renders web/app/icons/*.svg to the PNG sizes the manifest and iOS need, with Debian's
// Chromium. Not a test: run by hand after changing an icon (node tests/web/render_icons.mjs),
// and commit the PNGs.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../web/app/icons');
const outputs = [['icon.svg', 180], ['icon.svg', 192], ['icon.svg', 512], ['maskable.svg', 512]];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const [svg, size] of outputs) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const data = readFileSync(join(dir, svg), 'utf8');
  await page.setContent(`<style>html,body{margin:0;background:transparent}</style>` +
    `<img width="${size}" height="${size}" src="data:image/svg+xml;base64,${Buffer.from(data).toString('base64')}">`);
  await page.waitForFunction(() => document.images[0].complete);
  const name = svg === 'maskable.svg' ? `maskable-${size}.png` : `icon-${size}.png`;
  await page.screenshot({ path: join(dir, name), omitBackground: true });
  console.log(name);
}
await browser.close();
