// tests/browser/flows.mjs - the portal in Debian's Chromium (headless), against
// a running t9phone: two people sign up, one makes a group and an invitation, the
// other joins through the link, both see each other's dial codes; the owner
// changes the cap, kicks, bans, unbans and hands the group over; the log says so;
// a nickname collision is refused naming the group; the active group is saved; a
// password change ends the other sessions; deleting the account erases the
// person and the groups they own. axe-core checks each main page at 360 and
// 1280 px: no serious or critical violation. The Content-Security-Policy is
// left on and any violation fails the run.
//
// Run by tests/integration/test_portal_browser.py with T9_BASE=http://127.0.0.1:PORT,
// optional T9_SCREENSHOTS=DIR (PNG of each main page at both widths) and
// T9_CHROMIUM (default /usr/bin/chromium). Prints one JSON line last:
// {"ok":true,"steps":N,"axe":{"pages":N,"violations":[...]}}.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BASE = process.env.T9_BASE;
const SHOTS = process.env.T9_SCREENSHOTS || '';
const PASSWORD = 'correct horse battery';
const WIDTHS = [360, 1280];

if (!BASE) {
  console.error('T9_BASE is not set');
  process.exit(2);
}

let steps = 0;
const axeReport = { pages: 0, violations: [], minor: 0 };
const cspErrors = [];

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  steps++;
}

async function newPerson(browser, name) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => cspErrors.push(`${name}: page error ${e.message}`));
  return { context, page, name };
}

async function audit(page, label) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === 360 ? 800 : 900 });
    await page.evaluate(AXE + '\n;0');
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { resultTypes: ['violations'] }));
    axeReport.pages++;
    for (const v of result.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        axeReport.violations.push({ page: label, width, id: v.id, impact: v.impact,
          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) });
      } else {
        axeReport.minor++;
      }
    }
    // Nothing may need horizontal scrolling on a phone.
    if (width === 360) {
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 360, `${label} fits 360 px (scrollWidth ${wide})`);
    }
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${label}-${width}.png`), fullPage: true });
    }
  }
  await page.setViewportSize({ width: 360, height: 800 });
}

async function signup(p, email, nick, invite) {
  await p.page.goto(`${BASE}/signup${invite ? `?invite=${invite}` : ''}`);
  await p.page.fill('#f-email', email);
  await p.page.fill('#f-nickname', nick);
  await p.page.fill('#f-password', PASSWORD);
  await p.page.click('button[type=submit]');
  await p.page.waitForLoadState('load');
}

async function login(p, email, password) {
  await p.page.goto(`${BASE}/login`);
  await p.page.fill('#f-email', email);
  await p.page.fill('#f-password', password);
  await p.page.click('form.card button[type=submit]');
  await p.page.waitForLoadState('load');
}

async function dials(page) {
  return page.$$eval('#members li.member', (els) => els.map((e) => `${e.dataset.nick}:${e.dataset.dial}`));
}

async function act(p, slug, action, nick) {
  await p.page.goto(`${BASE}/g/${slug}`);
  const label = { kick: 'Remove', ban: 'Ban', transfer: 'Make owner' }[action];
  await p.page.click(`form[action="/g/${slug}/${action}"] button[aria-label="${label} ${nick}"]`);
  await p.page.waitForLoadState('load');
}

async function inviteLink(p, slug, uses) {
  await p.page.goto(`${BASE}/g/${slug}`);
  await p.page.fill('#f-uses', String(uses));
  await p.page.click(`form[action="/g/${slug}/invites"] button[type=submit]`);
  await p.page.waitForLoadState('load');
  const link = await p.page.inputValue('#invite-link');
  check(await p.page.isVisible('button[data-copy="invite-link"]'), 'copy button shown with JS');
  return link;
}

async function joinVia(p, link) {
  await p.page.goto(link);
  await p.page.click('form[action^="/i/"] button[type=submit]');
  await p.page.waitForLoadState('load');
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.T9_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const a = await newPerson(browser, 'marina');
    const b = await newPerson(browser, 'ivan');

    // Start page and privacy page, logged out.
    await a.page.goto(`${BASE}/`);
    await audit(a.page, 'home');
    await a.page.goto(`${BASE}/privacy`);
    check(await a.page.isVisible('text=What we never collect'), 'privacy page');
    await audit(a.page, 'privacy');

    // Sign-up: the dial code appears as the nickname is typed.
    await a.page.goto(`${BASE}/signup`);
    await a.page.type('#f-nickname', 'marina');
    const live = await a.page.$$eval('#dial-live .key b', (els) => els.map((e) => e.textContent).join(''));
    check(live === '627462', `dial code shown while typing (${live})`);
    await audit(a.page, 'signup');
    await a.page.fill('#f-email', 'marina@example.org');
    await a.page.fill('#f-password', 'short');
    await a.page.click('button[type=submit]');
    await a.page.waitForLoadState('load');
    check((await a.page.textContent('#e-password')).includes('at least 10'), 'password refusal next to the field');
    check((await a.page.inputValue('#f-email')) === 'marina@example.org', 'email kept');
    check((await a.page.inputValue('#f-password')) === '', 'password not kept');
    await audit(a.page, 'signup-error');
    await a.page.fill('#f-password', PASSWORD);
    await a.page.click('button[type=submit]');
    await a.page.waitForURL(/\/account/);
    check(await a.page.isVisible('text=Welcome'), 'welcome notice');
    check((await a.page.textContent('#my-nickname')) === 'marina', 'nickname on account page');
    await audit(a.page, 'account');

    // A group and an invitation.
    await a.page.goto(`${BASE}/groups`);
    await a.page.fill('#f-name', 'Family');
    await a.page.click('form[action="/groups"] button[type=submit]');
    await a.page.waitForURL(/\/g\/family/);
    const slug = a.page.url().split('/g/')[1].split('?')[0];
    const link = await inviteLink(a, slug, 2);
    check(link.startsWith(`${BASE}/i/`), 'invite link shown once');
    await audit(a.page, 'group-invite');

    // The second person opens the link, signs up and joins.
    await b.page.goto(link);
    check((await b.page.textContent('#group-name')) === 'Family', 'invite page names the group');
    await audit(b.page, 'invite');
    await b.page.click('text=Sign up and join');
    await b.page.fill('#f-email', 'ivan@example.org');
    await b.page.fill('#f-nickname', 'ivanov');
    await b.page.fill('#f-password', PASSWORD);
    await b.page.click('button[type=submit]');
    await b.page.waitForURL(/\/i\//);
    await b.page.click('form[action^="/i/"] button[type=submit]');
    await b.page.waitForURL(/\/g\/family/);
    for (const p of [a, b]) {
      await p.page.goto(`${BASE}/g/${slug}`);
      const d = await dials(p.page);
      check(d.includes('marina:627462') && d.includes('ivanov:482668'), `${p.name} sees both dial codes`);
    }
    await audit(a.page, 'group-owner');
    await audit(b.page, 'group-member');

    // Cap: too low is refused with a reason, 5 is fine.
    await a.page.goto(`${BASE}/g/${slug}`);
    await a.page.fill('#f-cap', '1');
    await a.page.click(`form[action="/g/${slug}/cap"] button[type=submit]`);
    await a.page.waitForLoadState('load');
    check((await a.page.textContent('#group-error')).includes('more members'), 'cap below members refused');
    await a.page.fill('#f-cap', '5');
    await a.page.click(`form[action="/g/${slug}/cap"] button[type=submit]`);
    await a.page.waitForLoadState('load');
    check((await a.page.textContent('#count')).includes('of 5'), 'cap changed');

    // Kick, ban, unban.
    await act(a, slug, 'kick', 'ivanov');
    check(!(await dials(a.page)).some((x) => x.startsWith('ivanov')), 'kicked');
    const resp = await b.page.goto(`${BASE}/g/${slug}`);
    check(resp.status() === 404, 'kicked member cannot see the group');
    await joinVia(b, link);
    check((await dials(b.page)).includes('ivanov:482668'), 'back with the same link');
    await act(a, slug, 'ban', 'ivanov');
    const link2 = await inviteLink(a, slug, 1);
    await joinVia(b, link2);
    check(await b.page.isVisible('text=You cannot join this group'), 'banned person refused');
    await a.page.goto(`${BASE}/g/${slug}`);
    await a.page.click(`form[action="/g/${slug}/unban"] button`);
    await a.page.waitForLoadState('load');
    check(await a.page.isVisible('text=The ban is lifted'), 'unbanned');
    await joinVia(b, link2);
    check((await dials(b.page)).includes('ivanov:482668'), 'joined after unban');

    // Nickname collision names the group; the typed nickname stays.
    await b.page.goto(`${BASE}/account`);
    await b.page.fill('#f-nickname', 'mapina');
    await b.page.click('form[action="/account/nickname"] button[type=submit]');
    await b.page.waitForLoadState('load');
    const err = await b.page.textContent('#e-nickname');
    check(err.includes('Family') && err.includes('627462'), `collision names the group (${err})`);
    check((await b.page.inputValue('#f-nickname')) === 'mapina', 'typed nickname kept');
    await audit(b.page, 'account-error');

    // Active group.
    await a.page.goto(`${BASE}/g/${slug}`);
    await a.page.click('text=Make this my active group');
    await a.page.waitForURL(/m=active/);
    check((await a.page.inputValue('#f-group')) === slug, 'active group saved');

    // Transfer, then the log in plain words.
    await act(a, slug, 'transfer', 'ivanov');
    await b.page.goto(`${BASE}/g/${slug}`);
    check(await b.page.isVisible('text=You are its owner'), 'ownership transferred');
    const log = await b.page.textContent('#log');
    // The log names current members only: ivanov's entries from before the
    // kick and the ban say "a former member".
    for (const line of ['marina joined', 'marina invited someone', 'A former member joined',
      'A former member accepted an invitation', 'marina changed the member limit',
      'marina removed a former member', 'marina banned a former member',
      'marina lifted the ban on a former member', 'ivanov joined',
      'ivanov accepted an invitation', 'marina made ivanov the owner']) {
      check(log.includes(line), `log says "${line}"`);
    }
    await audit(b.page, 'group-log');

    // A password change ends the other sessions.
    const a2 = await newPerson(browser, 'marina-laptop');
    await login(a2, 'marina@example.org', PASSWORD);
    check(a2.page.url().includes('/groups') || a2.page.url().includes('/account'), 'second session');
    await a.page.goto(`${BASE}/account`);
    await a.page.fill('#f-current', PASSWORD);
    await a.page.fill('#f-new', 'a new long passphrase');
    await a.page.click('form[action="/account/password"] button[type=submit]');
    await a.page.waitForURL(/m=password/);
    await a2.page.goto(`${BASE}/account`);
    check(a2.page.url().includes('/login'), 'other session ended by the password change');
    await a.page.goto(`${BASE}/account`);
    check(a.page.url().endsWith('/account'), 'own session kept');
    await login(a2, 'marina@example.org', 'a new long passphrase');
    check(!a2.page.url().includes('/login'), 'new password works');

    // Login page with a refusal.
    const c = await newPerson(browser, 'stranger');
    await login(c, 'marina@example.org', 'wrong wrong wrong');
    check(await c.page.isVisible('#login-error'), 'wrong password message');
    await audit(c.page, 'login-error');

    // Deletion: the new owner deletes their account; the group goes with it.
    await b.page.goto(`${BASE}/account`);
    check((await b.page.textContent('#s-del ~ ul, section[aria-labelledby="s-del"]')).includes('Family'),
      'deletion names the owned group');
    await b.page.fill('#f-delpassword', PASSWORD);
    await b.page.click('form[action="/account/delete"] button[type=submit]');
    await b.page.waitForURL(/m=deleted/);
    check(await b.page.isVisible('text=Your account and everything in it are erased'), 'deleted');
    await a.page.goto(`${BASE}/groups`);
    check((await a.page.$$('#my-groups li')).length === 0, 'owned group erased for its members');
    await audit(a.page, 'groups');
    await login(c, 'ivan@example.org', PASSWORD);
    check(await c.page.isVisible('#login-error'), 'deleted account cannot log in');

    check(cspErrors.length === 0, `no CSP violation or page error: ${cspErrors.join(' | ')}`);
    check(axeReport.violations.length === 0,
      `axe: no serious or critical violation: ${JSON.stringify(axeReport.violations)}`);
    console.log(JSON.stringify({ ok: true, steps, axe: axeReport }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, steps, error: String(e && e.stack || e), axe: axeReport,
    csp: cspErrors }));
  process.exit(1);
});
