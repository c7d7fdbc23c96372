import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless. The flags keep it from reaching for Google's services, which a closed
 * network refuses (and which would slow every start).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
