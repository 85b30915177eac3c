// Browser tests of the operator console, the settings page and the site widget, in headless Debian
// chromium driven by playwright-core. Run by tests/browser.rs, which starts MariaDB's test database and
// `php -S` and passes BASE_URL and OUT_DIR; by hand:
//   BASE_URL=http://127.0.0.1:8080 OUT_DIR=/tmp node --test tests/browser/console.test.mjs
//
// One story, step by step (node:test runs a file's tests in order): an admin adds the operators and a
// widget channel; a visitor writes in the widget and the console shows it without a reload; answers,
// images both ways, the XSS text, a transfer the second operator sees, close, phone screenshots; the
// team tools: a canned reply by `/`, a note the visitor never gets, tags, messages search, reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL || 'http://127.0.0.1:8080';
const OUT = process.env.OUT_DIR || 'target/browser';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The same server under another name: another origin, as a company's site is for the widget.
const SITE = BASE.replace('127.0.0.1', 'localhost');
const XSS = '<img src=x onerror=alert(1)>';
const TELEGRAM_TOKEN = process.env.TELEGRAM_TOKEN || '7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE';
const CHATAPI_URL = process.env.CHATAPI_URL || '';
const CHATAPI_TOKEN = process.env.CHATAPI_TOKEN || '';
// A 2×2 red PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

let browser;
let failed = false;

/** A step of the story: skipped once an earlier step failed (it would only time out). */
function step(name, fn) {
  test(name, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      for (const [who, page] of Object.entries(pages)) {
        await page.screenshot({ path: `${OUT}/failed-${who}.png` }).catch(() => {});
      }
      throw e;
    }
  });
}

async function newContext(options) {
  const ctx = await browser.newContext(options);
  ctx.setDefaultTimeout(10000);
  return ctx;
}
const pages = {};
let channelId;
let documentUrl;
const problems = [];

function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('dialog', async (d) => {
    if (d.type() === 'alert') problems.push(`${who}: an alert ran: ${d.message()}`);
    await d.accept();
  });
  return page;
}

async function signIn(page, userId) {
  await page.goto(BASE + '/console/');
  await page.waitForSelector('#login-user option', { state: 'attached' });
  await page.selectOption('#login-user', String(userId));
  await Promise.all([page.waitForEvent('load'), page.click('#login-form button[type=submit]')]);
  await page.waitForSelector('#presence');
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
});

after(async () => {
  if (browser) await browser.close();
});

step('an admin adds operators and a widget channel from the settings page', async () => {
  const ctx = await newContext({ viewport: { width: 1280, height: 860 } });
  const page = watch(await ctx.newPage(), 'admin');
  pages.admin = page;
  await signIn(page, 1);
  await page.click('#nav-settings');
  await page.waitForSelector('#operators-table');
  for (const id of [1, 2, 3]) {
    const add = page.locator(`#operators-table tr[data-user="${id}"] [data-action=operator-add]`);
    if (await add.count()) {
      await add.click();
      await page.waitForSelector(`#operators-table tr[data-user="${id}"] [data-action=operator-remove]`);
    }
  }
  await page.selectOption('#channel-type', 'widget');
  await page.click('#channel-add');
  await page.fill('#channel-name', 'Сайт');
  await page.click('#channel-check');
  await page.waitForSelector('#check-result.ok');
  await page.click('#channel-save');
  const embed = await page.locator('#channel-embed').textContent();
  const match = /data-crmchats-channel="(\d+)"/.exec(embed || '');
  assert.ok(match, 'the saved widget channel shows its embed snippet: ' + embed);
  channelId = Number(match[1]);
  await page.keyboard.press('Escape');
  const row = page.locator(`#channels-table tr[data-channel="${channelId}"]`);
  // Only this server and the demo "company site" may embed it.
  await row.locator('[data-action=channel-edit]').click();
  await page.fill('#field-allowed_origins', `${BASE}, ${SITE}`);
  await page.click('#channel-save');
  await page.waitForSelector('dialog.modal', { state: 'detached' });
  await row.waitFor();
  // Back to the dialogs, online so that new dialogs are distributed to this admin.
  await page.click('#nav-console');
  await page.selectOption('#presence', 'online');
  await page.waitForFunction(() => document.querySelector('#presence').dataset.status === 'online');
  await page.click('#tab-mine');
});

step('a visitor writes in the widget and the console shows it without a reload', async () => {
  const ctx = await newContext({ viewport: { width: 1100, height: 800 } });
  const site = watch(await ctx.newPage(), 'visitor');
  pages.site = site;
  await site.goto(`${BASE}/demo/site.html?channel=${channelId}`);
  await site.click('.cw-launcher');
  await site.fill('.cw-name', 'Мария Покупатель');
  await site.fill('.cw-text', 'Здравствуйте, нужен счёт');
  const sentAt = Date.now();
  await site.click('.cw-send');
  await site.waitForSelector('.cw-me >> text=Здравствуйте, нужен счёт');

  const admin = pages.admin;
  const item = admin.locator('.dialog-item', { hasText: 'Здравствуйте, нужен счёт' });
  await item.waitFor({ timeout: 5000 });
  const delay = Date.now() - sentAt;
  assert.ok(delay < 4000, `the console showed the message ${delay} ms after sending`);
  assert.match(await item.locator('.di-name').textContent(), /Мария Покупатель/);
  assert.equal(await site.locator('.cw-name').isVisible(), false, 'the name is asked once');
  await admin.waitForFunction(() => /^\(\d+\) /.test(document.title));
  await item.click();
  await admin.waitForSelector('.msg.in .msg-text >> text=Здравствуйте, нужен счёт');
});

step('the operator answers and the widget shows the answer with the operator name', async () => {
  const admin = pages.admin;
  await admin.fill('#composer-text', 'Добрый день! Счёт готов.');
  await admin.click('#composer-send');
  await admin.waitForSelector('.msg.out .msg-text >> text=Добрый день! Счёт готов.');
  const answer = pages.site.locator('.cw-them', { hasText: 'Добрый день! Счёт готов.' });
  await answer.waitFor({ timeout: 5000 });
  assert.match(await answer.locator('.cw-author').textContent(), /Анна Админова/);
  // Survives a reload: the token in localStorage brings the conversation back.
  await pages.site.reload();
  await pages.site.waitForSelector('.cw-them >> text=Добрый день! Счёт готов.');
});

step('a canned reply: saved in Settings, offered by / in the composer, inserted rendered', async () => {
  const admin = pages.admin;
  await admin.click('#nav-settings');
  await admin.click('#reply-add');
  await admin.fill('#reply-code', 'privet');
  await admin.fill('#reply-title', 'Приветствие');
  await admin.fill('#reply-text', 'Здравствуйте, {visitor_name}! Вас консультирует {operator_name}.');
  await admin.check('#reply-shared');
  await admin.click('#reply-save');
  await admin.waitForSelector('#replies-table >> text=/privet');
  await admin.click('#nav-console');
  await admin.waitForSelector('#composer-text');
  await admin.fill('#composer-text', '');
  await admin.type('#composer-text', '/pri');
  const item = admin.locator('#reply-menu .reply-item[data-code="privet"]');
  await item.waitFor();
  await admin.keyboard.press('Enter');
  await admin.waitForFunction(() => document.querySelector('#composer-text').value === 'Здравствуйте, Мария Покупатель! Вас консультирует Анна Админова.');
  assert.equal(await admin.locator('#reply-menu').isVisible(), false);
  await admin.click('#composer-send');
  await pages.site.locator('.cw-them', { hasText: 'Вас консультирует Анна Админова' }).waitFor({ timeout: 5000 });
});

step('a note is shown in the history for operators and never reaches the visitor', async () => {
  const admin = pages.admin;
  await admin.check('#composer-note');
  await admin.fill('#composer-text', 'Внутренняя заметка: клиент VIP');
  await admin.click('#composer-send');
  const note = admin.locator('.internal-note', { hasText: 'Внутренняя заметка: клиент VIP' });
  await note.waitFor();
  assert.match(await note.locator('.in-head').textContent(), /Заметка · Анна Админова/);
  assert.equal(await admin.locator('.msg .msg-text', { hasText: 'Внутренняя заметка' }).count(), 0, 'a note is not a message');
  await admin.uncheck('#composer-note');
  // A message sent after the note arrives; the note before it never does.
  await admin.fill('#composer-text', 'Сообщение после заметки');
  await admin.click('#composer-send');
  await pages.site.locator('.cw-them', { hasText: 'Сообщение после заметки' }).waitFor({ timeout: 5000 });
  assert.equal(await pages.site.locator('text=Внутренняя заметка').count(), 0, 'the widget never shows the note');
});

step('an image goes both ways', async () => {
  const site = pages.site;
  const admin = pages.admin;
  await site.setInputFiles('.cw-file', { name: 'photo.png', mimeType: 'image/png', buffer: PNG });
  await site.click('.cw-send');
  await admin.waitForFunction(() => {
    const list = document.querySelectorAll('.msg.in img.att-img');
    const last = list[list.length - 1];
    return last && last.complete && last.naturalWidth === 2;
  });

  await admin.setInputFiles('#composer-file', { name: 'invoice.png', mimeType: 'image/png', buffer: PNG });
  await admin.fill('#composer-text', 'Счёт во вложении');
  await admin.click('#composer-send');
  await admin.waitForSelector('.msg.out img.att-img');
  await site.waitForSelector('.cw-them >> text=Счёт во вложении');
  await site.waitForFunction(() => {
    const root = document.querySelector('#crmchats-widget').shadowRoot;
    const imgs = root.querySelectorAll('.cw-them .cw-img');
    return imgs.length > 0 && imgs[imgs.length - 1].complete && imgs[imgs.length - 1].naturalWidth === 2;
  });
});

step('a document from the visitor is offered as a download', async () => {
  const admin = pages.admin;
  await pages.site.setInputFiles('.cw-file', { name: 'договор.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') });
  await pages.site.click('.cw-send');
  const link = admin.locator('.msg.in a.att-file', { hasText: 'договор.pdf' });
  await link.waitFor();
  const href = await link.getAttribute('href');
  assert.match(href, /\/attachment\.php\?id=\d+&download=1$/);
  const file = await admin.request.get(href);
  assert.equal(file.status(), 200);
  assert.match(file.headers()['content-disposition'], /^attachment;/);
  assert.equal((await file.body()).toString(), '%PDF-1.4\n%%EOF\n');
  documentUrl = href;
});

step('a visitor message with HTML renders as text', async () => {
  await pages.site.fill('.cw-text', XSS);
  await pages.site.click('.cw-send');
  const admin = pages.admin;
  const text = admin.locator('.msg.in .msg-text', { hasText: 'onerror' });
  await text.waitFor({ timeout: 5000 });
  assert.equal(await text.textContent(), XSS);
  assert.equal(await admin.locator('#thread img[src="x"]').count(), 0);
  assert.equal(await admin.locator('.dialog-item img[src="x"]').count(), 0);
  await admin.waitForTimeout(300);
  assert.deepEqual(problems, []);
});

step('a transfer reaches the second operator, who sees the note and closes the dialog', async () => {
  const ctx = await newContext({ viewport: { width: 1280, height: 860 } });
  const manager = watch(await ctx.newPage(), 'manager');
  pages.manager = manager;
  await signIn(manager, 2);
  await manager.selectOption('#presence', 'online');
  await manager.click('#tab-mine');

  const admin = pages.admin;
  await admin.click('[data-action=transfer]');
  await admin.selectOption('#transfer-to', '2');
  await admin.fill('#transfer-note', 'Клиент ждёт счёт, позвоните');
  await admin.click('#transfer-submit');
  await admin.waitForSelector('.event.ev-transferred');

  const item = manager.locator('.dialog-item').first();
  await item.waitFor({ timeout: 5000 });
  await item.click();
  await manager.waitForSelector('.ev-note >> text=Клиент ждёт счёт, позвоните');
  await manager.waitForSelector('.msg-text >> text=Здравствуйте, нужен счёт');
  await manager.click('[data-action=close]');
  await manager.waitForSelector('#dialog-status.status-closed');
  await manager.waitForSelector('[data-action=reopen]');
  await manager.waitForSelector('.event.ev-closed');
  assert.deepEqual(problems, []);
});

step('an admin joins the reopened dialog, and deletes a message of their own', async () => {
  const manager = pages.manager;
  const admin = pages.admin;
  await manager.click('[data-action=reopen]');
  await manager.waitForSelector('#dialog-status.status-open');
  const join = admin.locator('[data-action=join]');
  await join.waitFor({ timeout: 5000 });
  await join.click();
  await admin.waitForSelector('.event.ev-operator_joined');
  await admin.fill('#composer-text', 'Опечатка');
  await admin.click('#composer-send');
  const mine = admin.locator('.msg.out', { hasText: 'Опечатка' });
  await mine.waitFor();
  await mine.locator('[data-action=delete-message]').click();
  await admin.waitForSelector('.msg.out.st-deleted >> text=Опечатка');
});

step('news do not disturb what the operator is typing', async () => {
  const admin = pages.admin;
  await admin.fill('#composer-text', 'черновик ответа');
  await pages.site.fill('.cw-text', 'Ещё вопрос');
  await pages.site.click('.cw-send');
  await admin.waitForSelector('.msg.in .msg-text >> text=Ещё вопрос');
  assert.equal(await admin.inputValue('#composer-text'), 'черновик ответа');
  assert.equal(await admin.evaluate(() => document.activeElement && document.activeElement.id), 'composer-text');
  await admin.fill('#composer-text', '');
});

step('a channel with a reply window shows the time left (capabilities from the library, replaced here)', async () => {
  const admin = pages.admin;
  await admin.route('**/api.php?action=dialog&*', async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.result.capabilities = Object.assign({}, json.result.capabilities, { reply_window_hours: 24 });
    await route.fulfill({ response, json });
  });
  await admin.locator('.dialog-item.active').click();
  const rule = admin.locator('#reply-rule');
  await rule.waitFor();
  assert.match(await rule.textContent(), /Окно ответа 24 ч: осталось 23 ч \d+ мин/);
  await admin.unroute('**/api.php?action=dialog&*');
});

step('the console finds dialogs by text and speaks English on request', async () => {
  const admin = pages.admin;
  await admin.click('#tab-all');
  await admin.fill('#search', 'onerror');
  await admin.waitForFunction(() => document.querySelectorAll('.dialog-item').length === 1);
  await admin.fill('#search', 'no such words anywhere');
  await admin.waitForSelector('.dialog-list .empty');
  await admin.fill('#search', '');
  await admin.waitForSelector('.dialog-item');
  await admin.selectOption('#lang', 'en');
  await admin.waitForSelector('#tab-mine >> text=Mine');
  assert.equal(await admin.locator('#nav-settings').textContent(), 'Settings');
  await admin.selectOption('#lang', 'ru');
  await admin.waitForSelector('#tab-mine >> text=Мои');
});

step('an operator creates a CRM client for the visitor and gets the client card link', async () => {
  const admin = pages.admin;
  await admin.click('#tab-all');
  await admin.locator('.dialog-item').first().click();
  await admin.click('[data-action=link]');
  await admin.click('#create-client');
  const card = admin.locator('[data-action=client-card]');
  await card.waitFor();
  assert.match(await card.getAttribute('href'), /^\/card\.client\?clid=\d+$/);
  await admin.waitForSelector('.event.ev-crm_linked');
});

step('the API refuses a request without the CSRF token, without a session, and channels to non-admins', async () => {
  const admin = pages.admin;
  const noToken = await admin.evaluate(async () => {
    const r = await fetch('../api.php?action=heartbeat', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(noToken.status, 403);
  assert.deepEqual(Object.keys(noToken.body.error).sort(), ['code', 'message']);
  assert.equal(noToken.body.ok, false);
  assert.equal(noToken.body.error.code, 'csrf');
  const managerChannels = await pages.manager.evaluate(async () => {
    const r = await fetch('../api.php?action=channels');
    return { status: r.status, body: await r.json() };
  });
  assert.equal(managerChannels.status, 403);
  assert.equal(managerChannels.body.error.code, 'forbidden');
  // An operator who is not in the dialog cannot fetch its files.
  const outsiderCtx = await newContext();
  const outsider = await outsiderCtx.newPage();
  await signIn(outsider, 3);
  const refused = await outsider.request.get(documentUrl);
  assert.ok([403, 404].includes(refused.status()), `an outsider got ${refused.status()}`);
  await outsiderCtx.close();

  const ctx = await newContext();
  const anonymous = await ctx.newPage();
  const r = await anonymous.request.get(BASE + '/api.php?action=me');
  assert.equal(r.status(), 401);
  assert.equal((await r.json()).error.code, 'unauthorized');
  // The widget endpoint answers only the sites the channel allows.
  const widgetStart = (origin) => anonymous.request.post(`${BASE}/widget.php?action=start&channel=${channelId}`, {
    headers: { Origin: origin, 'Content-Type': 'application/json' }, data: '{}',
  });
  const evil = await widgetStart('http://evil.example');
  assert.equal(evil.status(), 403);
  assert.equal(evil.headers()['access-control-allow-origin'], undefined);
  const allowed = await widgetStart(SITE);
  assert.equal(allowed.status(), 200);
  assert.equal(allowed.headers()['access-control-allow-origin'], SITE);
  // Another visitor's token does not open this visitor's file.
  const stranger = (await allowed.json()).result.visitor_token;
  const attachmentId = Number(/id=(\d+)/.exec(documentUrl)[1]);
  const peek = await anonymous.request.post(`${BASE}/widget.php?action=attachment&channel=${channelId}`, {
    headers: { 'Content-Type': 'application/json' }, data: JSON.stringify({ visitor_token: stranger, attachment_id: attachmentId }),
  });
  assert.equal(peek.status(), 404);
  await ctx.close();
});

step('settings: a Telegram token is checked (the exact error, then the bot), connected, checked for health and deleted', async () => {
  const admin = pages.admin;
  await admin.click('#nav-settings');
  await admin.selectOption('#channel-type', 'telegram');
  await admin.click('#channel-add');
  await admin.fill('#field-token', '123:wrong');
  await admin.click('#channel-check');
  const bad = admin.locator('#check-result.bad');
  await bad.waitFor();
  assert.match(await bad.textContent(), /provider_unauthorized/);
  await admin.fill('#field-token', TELEGRAM_TOKEN);
  await admin.click('#channel-check');
  await admin.waitForSelector('#check-result.ok');
  assert.notEqual(await admin.inputValue('#channel-name'), 'Telegram', 'Check filled the bot name');
  await admin.click('#channel-save');
  const hook = await admin.inputValue('#channel-webhook-url');
  assert.match(hook, /\/webhook\.php\?channel=\d+$/);
  const id = /channel=(\d+)/.exec(hook)[1];
  await admin.keyboard.press('Escape');
  const row = admin.locator(`#channels-table tr[data-channel="${id}"]`);
  await row.locator('[data-action=channel-health]').click();
  await admin.waitForSelector('.toast >> text=Вебхук на месте');
  await row.locator('[data-action=channel-delete]').click();
  await row.waitFor({ state: 'detached' });
});

step('settings: ChatAPI\'s Check shows the QR code to scan with the phone', async (t) => {
  if (!CHATAPI_URL) return t.skip('CHATAPI_URL not given (tests/browser.rs starts a fake ChatAPI)');
  const admin = pages.admin;
  await admin.selectOption('#channel-type', 'chatapi');
  await admin.click('#channel-add');
  await admin.fill('#field-api_url', CHATAPI_URL);
  await admin.fill('#field-token', CHATAPI_TOKEN);
  await admin.click('#channel-check');
  const qr = admin.locator('#check-qr img');
  await qr.waitFor();
  assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/);
  await admin.keyboard.press('Escape');
  await admin.waitForSelector('dialog.modal', { state: 'detached' });
});

step('settings: general rules are saved and shown again', async () => {
  const admin = pages.admin;
  await admin.fill('#set-auto_close_after_minutes', '120');
  await admin.selectOption('#set-distribution', 'least_busy');
  await admin.check('#set-auto_replies-first_contact');
  await admin.click('#general-save');
  await admin.waitForSelector('.toast >> text=Сохранено');
  await admin.reload();
  await admin.waitForSelector('#general-form');
  assert.equal(await admin.inputValue('#set-auto_close_after_minutes'), '120');
  assert.equal(await admin.inputValue('#set-distribution'), 'least_busy');
  assert.equal(await admin.isChecked('#set-auto_replies-first_contact'), true);
  await admin.fill('#set-tz', 'Mars/Olympus_Mons');
  await admin.click('#general-save');
  const refused = admin.locator('.toast-error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /invalid_argument/);
  assert.deepEqual(problems, []);
});

step('long lists: more dialogs by cursor, older messages by before_id', async () => {
  const ctx = await newContext();
  const api = ctx.request;
  const widget = async (action, body) => {
    const r = await api.post(`${BASE}/widget.php?action=${action}&channel=${channelId}`, { data: body });
    assert.equal(r.status(), 200, await r.text());
    return (await r.json()).result;
  };
  const talker = (await widget('start', {})).visitor_token;
  for (let i = 0; i < 55; i++) await widget('send', { visitor_token: talker, text: `история ${i}` });
  for (let i = 0; i < 30; i++) {
    const token = (await widget('start', {})).visitor_token;
    await widget('send', { visitor_token: token, text: `посетитель ${i}` });
  }
  await ctx.close();

  const admin = pages.admin;
  await admin.click('#nav-console');
  await admin.click('#tab-all');
  await admin.waitForFunction(() => document.querySelectorAll('.dialog-item').length === 30);
  await admin.click('#more');
  await admin.waitForFunction(() => document.querySelectorAll('.dialog-item').length > 30);
  await admin.fill('#search', 'история 54');
  await admin.waitForFunction(() => document.querySelectorAll('.dialog-item').length === 1);
  await admin.click('.dialog-item');
  await admin.waitForSelector('.msg-text >> text=история 54');
  assert.equal(await admin.locator('.msg-text', { hasText: /^история 0$/ }).count(), 0, 'the first page is the newest');
  await admin.click('#older');
  await admin.waitForSelector('.msg-text >> text=/^история 0$/');
  await admin.waitForSelector('#older', { state: 'detached' });
  await admin.fill('#search', '');
});

step('with nobody online a new dialog waits in the queue, and an operator takes it', async () => {
  const admin = pages.admin;
  const manager = pages.manager;
  await manager.selectOption('#presence', 'away');
  await manager.waitForFunction(() => document.querySelector('#presence').dataset.status === 'away');
  await admin.selectOption('#presence', 'offline');
  await admin.waitForFunction(() => document.querySelector('#presence').dataset.status === 'offline');
  const ctx = await newContext();
  const r = await ctx.request.post(`${BASE}/widget.php?action=start&channel=${channelId}`, { data: {} });
  const token = (await r.json()).result.visitor_token;
  await ctx.request.post(`${BASE}/widget.php?action=send&channel=${channelId}`, { data: { visitor_token: token, text: 'Есть кто-нибудь?', name: 'Ночной гость' } });
  await ctx.close();

  await admin.click('#tab-queue');
  const item = admin.locator('.dialog-item', { hasText: 'Ночной гость' });
  await item.waitFor({ timeout: 5000 });
  assert.equal(await item.locator('.queue-tag').count(), 1);
  await item.click();
  await admin.click('[data-action=take]');
  await admin.waitForSelector('.dh-sub >> text=Ведёт: Анна Админова');
  await admin.waitForSelector('.event.ev-assigned');
  await admin.selectOption('#presence', 'online');
  await manager.selectOption('#presence', 'online');
});

step('tags, the tag filter and the messages search', async () => {
  const admin = pages.admin;
  // The dialog taken from the queue is open.
  await admin.waitForSelector('#dialog-name >> text=Ночной гость');
  await admin.fill('#tag-add', 'VIP');
  await admin.press('#tag-add', 'Enter');
  await admin.waitForSelector('#dialog-tags .chip[data-tag="vip"]');
  await admin.click('#tab-all');
  await admin.fill('#tag-filter', 'vip');
  await admin.waitForFunction(() => {
    const items = document.querySelectorAll('.dialog-item');
    return items.length === 1 && items[0].textContent.includes('Ночной гость');
  });
  await admin.fill('#tag-filter', '');
  await admin.click('#dialog-tags .chip[data-tag="vip"] [data-action=untag]');
  await admin.waitForSelector('#dialog-tags .chip', { state: 'detached' });
  await admin.selectOption('#search-mode', 'messages');
  await admin.fill('#search', 'консультирует');
  const hit = admin.locator('.search-hit', { hasText: 'Вас консультирует' });
  await hit.waitFor();
  await hit.click();
  await admin.waitForSelector('#dialog-name >> text=Мария Покупатель');
  // The hit's message is shown and marked in its dialog.
  await admin.waitForSelector('#thread .msg.found >> text=Вас консультирует');
  await admin.fill('#search', '');
  await admin.selectOption('#search-mode', 'dialogs');
  await admin.waitForSelector('.dialog-item');
});

step('the reports page draws its charts and exports CSV', async () => {
  const admin = pages.admin;
  await admin.click('#nav-reports');
  await admin.waitForSelector('#report-totals #stat-new');
  assert.ok(Number(await admin.locator('#stat-new .stat-value').textContent()) >= 3, 'the dialogs of this story are counted');
  await admin.waitForFunction(() => window.Chart && ['chart-dialogs', 'chart-messages', 'chart-ratings'].every((id) => window.Chart.getChart(id)));
  await admin.evaluate(() => { const t = document.getElementById('toasts'); if (t) t.remove(); });
  await admin.screenshot({ path: `${OUT}/reports.png`, fullPage: true });
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('#report-csv')]);
  const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
  assert.match(csv, /^\ufeffstart,new_dialogs,messages_in,messages_out/);
  assert.ok(csv.trim().split('\r\n').length >= 30, 'a row per day of the 30 days shown');
  await admin.click('#nav-console');
  await admin.waitForSelector('.dialog-item');
  assert.deepEqual(problems, []);
});

step('with the rating on, a closed dialog asks the visitor, whose 5 shows as ★ 5', async () => {
  const admin = pages.admin;
  await admin.click('#nav-settings');
  await admin.waitForSelector('#general-form');
  await admin.check('#set-rating-enabled');
  await admin.fill('#set-rating-text', 'Оцените разговор от 1 до 5');
  await admin.fill('#set-rating-window', '30');
  await admin.click('#general-save');
  await admin.waitForSelector('.toast:not(.toast-error) >> text=Сохранено');
  await admin.reload();
  await admin.waitForSelector('#general-form');
  assert.equal(await admin.isChecked('#set-rating-enabled'), true);
  assert.equal(await admin.inputValue('#set-rating-window'), '30');

  await admin.click('#nav-console');
  await admin.click('#tab-all');
  await admin.fill('#search', 'Покупатель');
  await admin.locator('.dialog-item', { hasText: 'Мария Покупатель' }).click();
  await admin.waitForSelector('#dialog-name >> text=Мария Покупатель');
  await admin.click('[data-action=close]');
  await admin.waitForSelector('#dialog-status.status-closed');
  const site = pages.site;
  await site.locator('text=Оцените разговор от 1 до 5').waitFor({ timeout: 5000 });
  await site.fill('.cw-text', '5');
  await site.click('.cw-send');
  await admin.waitForSelector('#dialog-rating >> text=★ 5', { timeout: 5000 });
  await admin.waitForSelector('#dialog-status.status-closed');
  await admin.waitForSelector('.dialog-item.active .rating >> text=★ 5');
  await admin.waitForSelector('.event.ev-rated >> text=★ 5');
  await admin.fill('#search', '');
  assert.deepEqual(problems, []);
});

step('an operator who is not an admin keeps personal canned replies and sees only their own report', async () => {
  const manager = pages.manager;
  assert.equal(await manager.locator('#nav-reports').count(), 0, 'Reports is for admins');
  await manager.click('#nav-settings');
  await manager.waitForSelector('#replies-table tr >> text=/privet');
  assert.equal(await manager.locator('#settings-general').count(), 0, 'only the canned replies');
  const shared = manager.locator('#replies-table tr', { hasText: '/privet' });
  assert.equal(await shared.locator('[data-action=reply-edit]').count(), 0, 'a shared reply is the admins\'');
  await manager.click('#reply-add');
  assert.equal(await manager.locator('#reply-shared').count(), 0);
  await manager.fill('#reply-code', 'poka');
  await manager.fill('#reply-text', 'До свидания, {visitor_name}!');
  await manager.click('#reply-save');
  const own = manager.locator('#replies-table tr', { hasText: '/poka' });
  await own.locator('[data-action=reply-edit]').waitFor();
  const reports = await manager.evaluate(async (id) => {
    const q = 'from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z';
    const team = await fetch('../api.php?action=report&' + q);
    const mine = await fetch('../api.php?action=report&' + q + '&for_operator_id=' + id);
    return { team: team.status, mine: mine.status };
  }, 2);
  assert.deepEqual(reports, { team: 403, mine: 200 });
  await manager.click('#nav-console');
  await manager.waitForSelector('.tabs');
  assert.deepEqual(problems, []);
});

step('phone-size screens: the console and the widget fit 360 px', async () => {
  const ctx = await newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = watch(await ctx.newPage(), 'phone');
  await signIn(phone, 2);
  await phone.click('#tab-mine');
  await phone.waitForSelector('.dialog-item');
  const listWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(listWidth <= 360, `the list fits without sideways scrolling (${listWidth} px)`);
  assert.ok(await phone.locator('.dialog-item .di-time').first().isVisible(), 'the time of the last message shows');
  await phone.screenshot({ path: `${OUT}/console-phone-list.png` });
  await phone.locator('.dialog-item', { hasText: 'Мария Покупатель' }).click();
  await phone.waitForSelector('.msg');
  assert.equal(await phone.locator('#list-pane').isVisible(), false, 'on a phone the dialog replaces the list');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 360, `no sideways scrolling (${overflow} px)`);
  await phone.screenshot({ path: `${OUT}/console-phone.png` });
  await phone.click('#back');
  await phone.waitForSelector('#list-pane');

  // The visitor on the company's site: another origin than the CRM (CORS with a preflight).
  const site = watch(await ctx.newPage(), 'phone-visitor');
  await site.goto(`${SITE}/demo/site.html?channel=${channelId}&crm=${encodeURIComponent(BASE + '/')}`);
  await site.click('.cw-launcher');
  await site.waitForSelector('.cw-panel');
  await site.fill('.cw-text', 'Пишу с телефона');
  await site.click('.cw-send');
  await site.waitForSelector('.cw-me >> text=Пишу с телефона');
  await site.screenshot({ path: `${OUT}/widget-phone.png` });
  assert.deepEqual(problems, []);
});
