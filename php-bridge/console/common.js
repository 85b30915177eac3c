/*
 * crmchats console: helpers shared by console.js and settings.js (loaded first, no build step).
 *
 * Everything on screen is built with DOM calls and textContent; nothing that came from a visitor, an
 * operator or the library is ever parsed as HTML.
 */
'use strict';

window.Crmchats = (() => {
  const meta = (name) => {
    const m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  };

  const state = {
    csrf: meta('crmchats-csrf'),
    apiUrl: meta('crmchats-api') || '../api.php',
    // The server's choice: the CRM user's language when known, else the switch's cookie, else Russian.
    lang: meta('crmchats-lang') === 'en' ? 'en' : 'ru',
  };

  /** el('div', {class: 'x', text: 'y', onclick: f, 'data-id': 3}, child, 'text', ...) */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'value') e.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden' || k === 'multiple') e[k] = Boolean(v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message || code);
      this.code = code;
      this.status = status || 0;
    }
  }

  /** GET when body is undefined, POST with JSON and the CSRF header otherwise. */
  async function api(action, query, body, signal) {
    const url = new URL(state.apiUrl, location.href);
    url.searchParams.set('action', action);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    const options = { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store', signal };
    if (body !== undefined) {
      options.method = 'POST';
      options.headers['Content-Type'] = 'application/json';
      options.headers['X-CSRF-Token'] = state.csrf;
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data;
    try {
      data = await response.json();
    } catch (e) {
      throw new ApiError('http_' + response.status, response.statusText || 'not JSON', response.status);
    }
    if (!data || data.ok !== true) {
      const err = (data && data.error) || {};
      throw new ApiError(err.code || 'http_' + response.status, err.message || '', response.status);
    }
    return data.result;
  }

  const dict = {
    ru: {
      title: 'Чаты', mine: 'Мои', queue: 'Очередь', all: 'Все', search: 'Поиск по имени и тексту',
      more: 'Показать ещё', empty_list: 'Диалогов нет', pick_dialog: 'Выберите диалог слева',
      online: 'В сети', away: 'Отошёл', offline: 'Не в сети', settings: 'Настройки', console: 'Диалоги',
      logout: 'Выйти', send: 'Отправить', attach: 'Файл', composer: 'Сообщение…', composer_hint: 'Enter — отправить, Shift+Enter — новая строка',
      reason_round_robin: 'по кругу', reason_least_busy: 'наименее занятому', reason_crm_owner: 'ответственный в CRM', reason_previous_operator: 'вёл(а) раньше',
      auto: 'Автоответ', reason_first_contact: 'первое обращение', reason_operators_offline: 'операторы не в сети',
      reason_out_of_hours: 'нерабочее время', reason_operator_assigned: 'назначен оператор', reason_colleague_joined: 'подключился коллега',
      reason_taken: 'взял(а) сам(а)', reason_by_operator: 'оператором', reason_idle: 'нет активности', reason_assigned_by_admin: 'назначил администратор',
     
      take: 'Взять', join: 'Подключиться', leave: 'Выйти из диалога', transfer: 'Передать', close: 'Закрыть',
      reopen: 'Открыть снова', link: 'Связать с CRM', unlink: 'Отвязать', client_card: 'Карточка клиента',
      contact_card: 'Карточка контакта', create_client: 'Создать клиента', create_contact: 'Создать контакт',
      load_older: 'Загрузить раньше', back: 'Назад', delete: 'Удалить', deleted: 'удалено',
      transfer_to: 'Кому передать', note: 'Комментарий для коллеги', cancel: 'Отмена', ok: 'OK',
      search_crm: 'Имя, телефон или e-mail (от 2 символов)', nothing_found: 'Ничего не найдено',
      status_open: 'открыт', status_closed: 'закрыт', in_queue: 'в очереди', assigned_to: 'Ведёт: {name}',
      you: 'вы', visitor: 'Посетитель', not_sent: 'Не доставлено: {error}', confirm_delete: 'Удалить сообщение у посетителя?',
      window_left: 'Окно ответа {hours} ч: осталось {left}', window_closed: 'Окно ответа {hours} ч закрыто: посетитель писал {when}. Ответить можно, когда он напишет снова.',
      window_none: 'Окно ответа {hours} ч: посетитель ещё не писал.',
      not_operator: 'Вы не оператор чатов. Администратор CRM добавляет операторов в настройках.',
      sign_in: 'Вход (только демо): выберите пользователя CRM', sign_in_btn: 'Войти', admin: 'админ',
      error: 'Ошибка', reconnecting: 'Нет связи с сервером, переподключение…', sending: 'Отправка…',
      notify_title: 'Новое сообщение', files_selected: 'Файлов: {n}', h: 'ч', min: 'мин',
      ev_assigned: 'Диалог назначен: {to} ({reason})', ev_transferred: '{by} передал(а) диалог: {from} → {to}',
      ev_note: 'Комментарий: {note}', ev_joined: '{who} подключился(ась) к диалогу', ev_left: '{who} вышел(ла) из диалога',
      ev_closed: 'Диалог закрыт ({reason})', ev_reopened: 'Диалог открыт снова', ev_opened: 'Начат диалог', ev_auto_reply: 'Автоответ: {kind}',
      ev_crm_linked: 'Посетитель связан с CRM', ev_crm_unlinked: 'Связь с CRM снята', ev_deleted: 'Сообщение удалено',
      ev_edited: 'Посетитель изменил сообщение', ev_delivery_confirmed: 'Мессенджер подтвердил доставку ответа', ev_other: 'Событие: {kind}', nobody: 'никто', channel: 'Канал',
      linked: 'Связан: {name}', language: 'Язык',
    },
    en: {
      title: 'Chats', mine: 'Mine', queue: 'Queue', all: 'All', search: 'Search name or text',
      more: 'Load more', empty_list: 'No dialogs', pick_dialog: 'Pick a dialog on the left',
      online: 'Online', away: 'Away', offline: 'Offline', settings: 'Settings', console: 'Dialogs',
      logout: 'Sign out', send: 'Send', attach: 'File', composer: 'Message…', composer_hint: 'Enter sends, Shift+Enter starts a new line',
      reason_round_robin: 'round robin', reason_least_busy: 'least busy', reason_crm_owner: 'the client\'s owner in the CRM', reason_previous_operator: 'handled it before',
      auto: 'Auto-reply', reason_first_contact: 'first contact', reason_operators_offline: 'operators offline',
      reason_out_of_hours: 'out of hours', reason_operator_assigned: 'operator assigned', reason_colleague_joined: 'colleague joined',
      reason_taken: 'taken', reason_by_operator: 'by an operator', reason_idle: 'idle', reason_assigned_by_admin: 'by an admin',
     
      take: 'Take', join: 'Join', leave: 'Leave', transfer: 'Transfer', close: 'Close',
      reopen: 'Reopen', link: 'Link to CRM', unlink: 'Unlink', client_card: 'Client card',
      contact_card: 'Contact card', create_client: 'Create client', create_contact: 'Create contact',
      load_older: 'Load older', back: 'Back', delete: 'Delete', deleted: 'deleted',
      transfer_to: 'Transfer to', note: 'Note for the colleague', cancel: 'Cancel', ok: 'OK',
      search_crm: 'Name, phone or e-mail (2+ characters)', nothing_found: 'Nothing found',
      status_open: 'open', status_closed: 'closed', in_queue: 'in queue', assigned_to: 'Handled by {name}',
      you: 'you', visitor: 'Visitor', not_sent: 'Not delivered: {error}', confirm_delete: 'Delete the message for the visitor?',
      window_left: '{hours} h reply window: {left} left', window_closed: '{hours} h reply window is closed: the visitor last wrote {when}. You can answer once they write again.',
      window_none: '{hours} h reply window: the visitor has not written yet.',
      not_operator: 'You are not an operator of the inbox. A CRM admin adds operators in Settings.',
      sign_in: 'Sign in (demo only): pick a CRM user', sign_in_btn: 'Sign in', admin: 'admin',
      error: 'Error', reconnecting: 'Connection lost, reconnecting…', sending: 'Sending…',
      notify_title: 'New message', files_selected: '{n} file(s)', h: 'h', min: 'min',
      ev_assigned: 'Assigned to {to} ({reason})', ev_transferred: '{by} transferred the dialog: {from} → {to}',
      ev_note: 'Note: {note}', ev_joined: '{who} joined the dialog', ev_left: '{who} left the dialog',
      ev_closed: 'Dialog closed ({reason})', ev_reopened: 'Dialog reopened', ev_opened: 'Dialog started', ev_auto_reply: 'Auto-reply: {kind}',
      ev_crm_linked: 'Visitor linked to the CRM', ev_crm_unlinked: 'CRM link removed', ev_deleted: 'Message deleted',
      ev_edited: 'The visitor edited a message', ev_delivery_confirmed: 'The messenger confirmed a reply went out', ev_other: 'Event: {kind}', nobody: 'nobody', channel: 'Channel',
      linked: 'Linked: {name}', language: 'Language',
    },
  };

  function t(key, vars) {
    const table = dict[state.lang] || dict.ru;
    let s = table[key] !== undefined ? table[key] : (dict.en[key] !== undefined ? dict.en[key] : key);
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  function addWords(lang, words) {
    Object.assign(dict[lang], words);
  }

  function setLang(lang) {
    state.lang = lang === 'en' ? 'en' : 'ru';
    document.cookie = 'crmchats_lang=' + state.lang + '; path=/; SameSite=Lax; max-age=31536000';
    document.documentElement.lang = state.lang;
  }

  /** Only http(s) and same-origin paths become links or image sources. */
  function safeUrl(u) {
    if (typeof u !== 'string' || u === '') return null;
    try {
      const url = new URL(u, location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function formatTime(iso, withDate) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const now = new Date();
    const sameDay = d.toDateString() === now.toDateString();
    const locale = state.lang === 'en' ? 'en-GB' : 'ru-RU';
    const time = d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
    if (sameDay && !withDate) return time;
    return d.toLocaleDateString(locale, { day: 'numeric', month: 'short' }) + ' ' + time;
  }

  function toast(text, isError) {
    let box = document.getElementById('toasts');
    if (!box) {
      box = el('div', { id: 'toasts', class: 'toasts', role: 'status' });
      document.body.append(box);
    }
    const item = el('div', { class: 'toast' + (isError ? ' toast-error' : ''), text });
    box.append(item);
    setTimeout(() => item.remove(), isError ? 8000 : 3500);
  }

  function describeError(e) {
    if (!e) return '';
    if (e instanceof ApiError) return e.code + (e.message && e.message !== e.code ? ': ' + e.message : '');
    if (typeof e === 'string') return e;
    if (e.code || e.message) return (e.code || '') + (e.message ? ': ' + e.message : '') + (e.retry_after ? ' (retry in ' + e.retry_after + ' s)' : '');
    return String(e);
  }

  /** A modal built with <dialog>; returns {dialog, body, close}. */
  function modal(title, build) {
    const dialog = el('dialog', { class: 'modal' });
    const body = el('div', { class: 'modal-body' });
    const close = () => { dialog.close(); dialog.remove(); };
    dialog.append(el('div', { class: 'modal-head' }, el('h3', { text: title }),
      el('button', { type: 'button', class: 'icon-btn', 'aria-label': t('cancel'), text: '×', onclick: close })), body);
    document.body.append(dialog);
    build(body, close);
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(); });
    dialog.showModal();
    return { dialog, body, close };
  }

  function readFileBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => {
        const s = String(reader.result);
        resolve(s.slice(s.indexOf(',') + 1));
      };
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  return { el, api, ApiError, t, addWords, setLang, state, safeUrl, formatTime, toast, describeError, modal, readFileBase64, meta };
})();
