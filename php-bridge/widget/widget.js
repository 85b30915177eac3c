/*
 * crmchats site chat widget: a floating chat button for a company's website.
 *
 *   <script src="https://crm.example.com/plugins/crmchats/php-bridge/widget/widget.js"
 *           data-crmchats-channel="7"
 *           data-crmchats-endpoint="https://crm.example.com/plugins/crmchats/php-bridge/widget.php" async></script>
 *
 * Optional: data-crmchats-lang="ru|en", data-crmchats-open="1" (open at once).
 * The visitor token the library signs is kept in localStorage, so a reload (or another page of the
 * site) continues the same conversation. Everything lives in a shadow root: the site's CSS does not
 * reach in and ours does not leak out. Messages are shown with textContent only.
 */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[data-crmchats-channel]');
  if (!script || window.__crmchatsWidget) return;
  window.__crmchatsWidget = true;

  var channel = Number(script.getAttribute('data-crmchats-channel'));
  var endpoint = script.getAttribute('data-crmchats-endpoint') || new URL('../widget.php', script.src).href;
  var cssUrl = new URL('widget.css', script.src).href;
  var lang = script.getAttribute('data-crmchats-lang') ||
    ((document.documentElement.lang || navigator.language || 'ru').slice(0, 2).toLowerCase() === 'en' ? 'en' : 'ru');
  var storeKey = 'crmchats_widget_' + channel + '_' + new URL(endpoint, location.href).host;

  var words = {
    ru: { open: 'Написать нам', title: 'Чат с нами', placeholder: 'Ваше сообщение…', send: 'Отправить', file: 'Файл',
      hello: 'Здравствуйте! Напишите вопрос — мы ответим здесь.', you: 'Вы', operator: 'Оператор', auto: 'Автоответ',
      error: 'Не удалось отправить. Попробуйте ещё раз.', offline: 'Нет связи, переподключаемся…', close: 'Свернуть',
      name: 'Ваше имя (необязательно)' },
    en: { open: 'Chat with us', title: 'Chat with us', placeholder: 'Your message…', send: 'Send', file: 'File',
      hello: 'Hello! Ask your question and we will answer here.', you: 'You', operator: 'Operator', auto: 'Auto-reply',
      error: 'Could not send. Please try again.', offline: 'Connection lost, reconnecting…', close: 'Minimise',
      name: 'Your name (optional)' },
  };
  function t(k) { return (words[lang] || words.ru)[k]; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /** A small inline icon (no emoji font needed, no markup parsed). */
  function icon(d) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '20');
    svg.setAttribute('height', '20');
    svg.setAttribute('aria-hidden', 'true');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', 'currentColor');
    svg.appendChild(path);
    return svg;
  }
  var ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z';
  var ICON_CLIP = 'M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z';

  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(storeKey) || '{}') || {}; } catch (e) { saved = {}; }
  function save() { try { localStorage.setItem(storeKey, JSON.stringify(saved)); } catch (e) { /* private mode */ } }

  // ---- DOM ----
  var host = el('div');
  host.id = 'crmchats-widget';
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = cssUrl;
  root.appendChild(link);

  var launcher = el('button', 'cw-launcher');
  launcher.type = 'button';
  launcher.setAttribute('aria-label', t('open'));
  launcher.appendChild(icon(ICON_CHAT));
  launcher.appendChild(el('span', 'cw-launcher-text', t('open')));
  var dot = el('span', 'cw-dot');
  dot.hidden = true;
  launcher.appendChild(dot);

  var panel = el('div', 'cw-panel');
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  var head = el('div', 'cw-head');
  var title = el('span', 'cw-title', t('title'));
  var closeBtn = el('button', 'cw-close', '×');
  closeBtn.type = 'button';
  closeBtn.setAttribute('aria-label', t('close'));
  head.appendChild(title);
  head.appendChild(closeBtn);
  var list = el('div', 'cw-messages');
  list.appendChild(el('div', 'cw-hello', t('hello')));
  var status = el('div', 'cw-status');
  status.hidden = true;
  // The visitor's name, asked once (optional): the operator sees it instead of "Visitor #N".
  var nameInput = el('input', 'cw-name');
  nameInput.type = 'text';
  nameInput.maxLength = 100;
  nameInput.placeholder = t('name');
  nameInput.setAttribute('aria-label', t('name'));
  var form = el('form', 'cw-form');
  var fileInput = el('input');
  fileInput.type = 'file';
  fileInput.multiple = true;
  fileInput.hidden = true;
  fileInput.className = 'cw-file';
  var attach = el('button', 'cw-attach');
  attach.appendChild(icon(ICON_CLIP));
  attach.type = 'button';
  attach.title = t('file');
  attach.setAttribute('aria-label', t('file'));
  var picked = el('span', 'cw-picked');
  var text = el('textarea', 'cw-text');
  text.rows = 2;
  text.placeholder = t('placeholder');
  var send = el('button', 'cw-send', t('send'));
  send.type = 'submit';
  form.appendChild(attach);
  form.appendChild(fileInput);
  form.appendChild(text);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(list);
  panel.appendChild(status);
  panel.appendChild(picked);
  panel.appendChild(nameInput);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);

  // ---- network ----
  function call(action, body, raw) {
    var url = endpoint + (endpoint.indexOf('?') < 0 ? '?' : '&') + 'action=' + action + '&channel=' + channel;
    return fetch(url, {
      method: 'POST', mode: 'cors', credentials: 'omit', cache: 'no-store',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    }).then(function (r) {
      if (raw && r.ok) return r.blob();
      return r.json().catch(function () { return { ok: false, error: { code: 'http_' + r.status } }; }).then(function (d) {
        if (!d || !d.ok) {
          var err = new Error((d && d.error && d.error.message) || 'error');
          err.code = d && d.error && d.error.code;
          err.status = r.status;
          throw err;
        }
        return d.result;
      });
    });
  }

  var started = null;
  var lastId = 0;
  var cursor = '';
  var seen = {};
  var polling = false;

  function start() {
    if (!started) {
      started = call('start', { visitor_token: saved.token || '' }).then(function (r) {
        if (r.visitor_token !== saved.token) { saved.token = r.visitor_token; lastId = 0; cursor = ''; save(); }
        if (r.title) title.textContent = r.title;
        poll();
        return r;
      }, function (e) { started = null; throw e; });
    }
    return started;
  }

  // A pause the next send cuts short (a visitor who has not written yet gets empty answers at once).
  var wake = null;
  function pause(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); wake = null; resolve(); }
      wake = done;
    });
  }

  function poll() {
    if (polling) return;
    polling = true;
    var failures = 0;
    var first = true;
    (function loop() {
      var asked = Date.now();
      var ask = { visitor_token: saved.token, timeout_ms: first ? 0 : 25000 };
      if (cursor) ask.cursor = cursor; else ask.after_id = lastId;
      call('messages', ask).then(function (r) {
        if (r.cursor) cursor = r.cursor;
        var wasFirst = first;
        first = false;
        failures = 0;
        status.hidden = true;
        var news = false;
        var list = r.messages || [];
        list.forEach(function (m) { if (render(m) && m.from !== 'visitor') news = true; });
        if (news && panel.hidden) dot.hidden = false;
        // An empty answer that did not wait: nothing to wait on yet (no conversation).
        if (!list.length && !wasFirst && Date.now() - asked < 1000) pause(5000).then(loop);
        else loop();
      }, function (e) {
        failures++;
        if (e && (e.code === 'forbidden' || e.code === 'invalid_argument') && e.status < 500) {
          // The token no longer fits this channel: start afresh.
          polling = false;
          started = null;
          saved.token = '';
          save();
          start();
          return;
        }
        if (failures > 1) { status.textContent = t('offline'); status.hidden = false; }
        pause(Math.min(15000, 500 * Math.pow(2, failures))).then(loop);
      });
    })();
  }

  function render(m) {
    if (seen[m.id]) return false;
    seen[m.id] = true;
    if (m.id > lastId) lastId = m.id;
    var box = el('div', 'cw-msg cw-' + (m.from === 'visitor' ? 'me' : m.from === 'auto' ? 'auto' : 'them'));
    box.setAttribute('data-id', String(m.id));
    var who = m.from === 'visitor' ? t('you') : m.from === 'auto' ? t('auto') : (m.author_name || t('operator'));
    box.appendChild(el('div', 'cw-author', who));
    if (m.text) box.appendChild(el('div', 'cw-body', m.text));
    (m.attachments || []).forEach(function (a) { box.appendChild(renderAttachment(a)); });
    var when = new Date(m.at);
    box.appendChild(el('div', 'cw-time', isNaN(when) ? '' : when.toLocaleTimeString(lang === 'en' ? 'en-GB' : 'ru-RU', { hour: '2-digit', minute: '2-digit' })));
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    list.appendChild(box);
    if (atBottom || m.from === 'visitor') list.scrollTop = list.scrollHeight;
    return true;
  }

  function renderAttachment(a) {
    var isImage = /^image\/(png|jpeg|gif|webp)$/.test(a.mime || '');
    var wrap = el('div', 'cw-att');
    var label = el('a', 'cw-file-link', '⤓ ' + (a.name || 'file'));
    label.href = '#';
    wrap.appendChild(label);
    var blobUrl = null;
    function fetchFile() {
      if (blobUrl) return Promise.resolve(blobUrl);
      return call('attachment', { visitor_token: saved.token, attachment_id: a.id }, true).then(function (blob) {
        blobUrl = URL.createObjectURL(blob);
        return blobUrl;
      });
    }
    if (isImage) {
      var img = el('img', 'cw-img');
      img.alt = a.name || '';
      wrap.insertBefore(img, label);
      fetchFile().then(function (u) {
        img.onload = function () { list.scrollTop = list.scrollHeight; };
        img.src = u;
      }, function () { img.remove(); });
    }
    label.addEventListener('click', function (ev) {
      ev.preventDefault();
      fetchFile().then(function (u) {
        var d = document.createElement('a');
        d.href = u;
        d.download = a.name || 'file';
        root.appendChild(d);
        d.click();
        d.remove();
      });
    });
    return wrap;
  }

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { var s = String(reader.result); resolve(s.slice(s.indexOf(',') + 1)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  // ---- events ----
  function openPanel() {
    panel.hidden = false;
    launcher.hidden = true;
    dot.hidden = true;
    saved.open = true;
    save();
    start().catch(function (e) { status.textContent = e.message; status.hidden = false; });
    setTimeout(function () { text.focus(); list.scrollTop = list.scrollHeight; }, 0);
  }
  function closePanel() {
    panel.hidden = true;
    launcher.hidden = false;
    saved.open = false;
    save();
  }
  launcher.addEventListener('click', openPanel);
  closeBtn.addEventListener('click', closePanel);
  attach.addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () {
    picked.textContent = Array.prototype.map.call(fileInput.files, function (f) { return f.name; }).join(', ');
  });
  text.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit')); }
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var files = Array.prototype.slice.call(fileInput.files || []);
    var body = text.value;
    if (send.disabled || (!body.trim() && !files.length)) return;
    var naming = !saved.named && nameInput.value.trim() !== '';
    send.disabled = true;
    start().then(function () {
      return Promise.all(files.map(readFile));
    }).then(function (datas) {
      var attachments = datas.map(function (d, i) {
        return { data_base64: d, name: files[i].name, mime: files[i].type || 'application/octet-stream' };
      });
      var request = { visitor_token: saved.token, text: body, attachments: attachments };
      if (naming) request.name = nameInput.value.trim();
      return call('send', request);
    }).then(function () {
      if (naming) saved.named = true;
      saved.wrote = true;
      save();
      nameInput.hidden = true;
      if (wake) wake();
      text.value = '';
      fileInput.value = '';
      picked.textContent = '';
      status.hidden = true;
    }, function (e) {
      status.textContent = t('error') + (e && e.message ? ' (' + e.message + ')' : '');
      status.hidden = false;
    }).then(function () { send.disabled = false; text.focus(); });
  });

  // A visitor who has written before is not asked again.
  if (saved.named || saved.wrote) nameInput.hidden = true;

  // A returning visitor sees the conversation (and new answers) at once.
  if (saved.token) start().catch(function () {});
  if (saved.open || script.getAttribute('data-crmchats-open') === '1') openPanel();
})();
