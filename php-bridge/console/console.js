/*
 * crmchats operator console: dialog list (Mine / Queue / All), dialog view, composer, team actions,
 * presence, realtime through ../api.php?action=poll (long poll), notifications. Plain JS, no build.
 */
'use strict';

(() => {
  const C = window.Crmchats;
  const { el, api, t } = C;

  C.addWords('ru', {
    note_mode: 'Заметка', note_label: 'Заметка', note_placeholder: 'Заметка для коллег — посетитель её не увидит',
    add_note: 'Добавить заметку', replies_none: 'Нет шаблонов с таким кодом',
    tags: 'Теги', add_tag: '+ тег', tag_filter: 'Тег', remove_tag: 'Убрать тег {tag}',
    search_dialogs: 'Диалоги', search_messages: 'Сообщения', search_msgs: 'Поиск по тексту сообщений',
    search_hint: 'Введите слово для поиска', rating_title: 'Оценка посетителя: {n} из 5',
    reason_rating_request: 'просьба оценить диалог', ev_rated: 'Посетитель оценил диалог: ★ {n}',
  });
  C.addWords('en', {
    note_mode: 'Note', note_label: 'Note', note_placeholder: 'A note for colleagues: the visitor never sees it',
    add_note: 'Add note', replies_none: 'No canned reply with this code',
    tags: 'Tags', add_tag: '+ tag', tag_filter: 'Tag', remove_tag: 'Remove tag {tag}',
    search_dialogs: 'Dialogs', search_messages: 'Messages', search_msgs: 'Search message text',
    search_hint: 'Type a word to search', rating_title: 'Visitor\'s rating: {n} of 5',
    reason_rating_request: 'rating request', ev_rated: 'The visitor rated the dialog: ★ {n}',
  });

  const CHANNEL_LABELS = {
    telegram: 'TG', viber: 'VB', vk: 'VK', facebook: 'FB', chatapi: 'WA', whatsapp_cloud: 'WA', widget: 'WEB',
  };

  const s = {
    me: null,               // operators.list entry of the signed-in user
    info: null,             // api me
    view: 'mine',
    search: '',
    searchMode: 'dialogs',  // or 'messages': messages.search hits instead of the dialog list
    tag: '',
    tags: [],               // the open dialog's tags
    hits: [],
    dialogs: [],
    nextCursor: null,
    openId: null,
    dialog: null,
    messages: [],
    events: [],
    capabilities: null,
    olderDone: false,
    operators: [],
    pollCursor: null,
    unreadSeen: new Map(),  // dialog id -> unread, to notice new messages
    page: 'console',
    notOperator: false,
  };

  const app = document.getElementById('app');
  let listBox, moreBtn, dialogPane, titleBase = t('title');

  // ---- start -------------------------------------------------------------------------------------

  async function start() {
    C.setLang(C.state.lang);
    if (C.meta('crmchats-signed-in') !== '1') {
      if (C.meta('crmchats-demo') === '1') return renderDemoLogin();
      app.replaceChildren(el('div', { class: 'center-note', text: 'Sign in to the CRM first.' }));
      return;
    }
    try {
      s.info = await api('me');
    } catch (e) {
      if (e.status === 401 && C.meta('crmchats-demo') === '1') return renderDemoLogin();
      app.replaceChildren(el('div', { class: 'center-note error', text: C.describeError(e) }));
      return;
    }
    s.me = s.info.operator;
    s.view = localStorage.getItem('crmchats_view') || 'mine';
    if (s.view === 'all' && !s.me.is_admin) s.view = 'mine';
    await loadOperators();
    renderShell();
    route();
    window.addEventListener('hashchange', route);
    // A link from elsewhere in the CRM (the client card's tab, a notification) names a dialog.
    const linked = Number(new URLSearchParams(location.search).get('dialog'));
    if (s.page === 'console' && Number.isInteger(linked) && linked > 0) openDialog(linked);
    heartbeat();
    setInterval(heartbeat, 30000);
    pollLoop();
    document.addEventListener('click', askNotificationPermission, { once: true });
  }

  async function loadOperators() {
    try {
      s.operators = (await api('operators')).operators || [];
      const mine = s.operators.find((o) => o.id === s.me.id);
      if (mine) s.me = mine;
    } catch (e) {
      s.operators = [];
    }
  }

  function operatorName(id) {
    if (id === null || id === undefined) return t('nobody');
    const o = s.operators.find((x) => x.id === id);
    return o ? o.name || o.login || '#' + id : '#' + id;
  }

  // ---- demo sign-in ------------------------------------------------------------------------------

  async function renderDemoLogin() {
    const select = el('select', { id: 'login-user', name: 'operator_id' });
    const form = el('form', { class: 'login', id: 'login-form' },
      el('h1', { text: t('sign_in') }), select, el('button', { type: 'submit', class: 'btn primary', text: t('sign_in_btn') }));
    app.replaceChildren(form);
    try {
      const users = (await api('demo_users')).operators || [];
      for (const u of users) {
        select.append(el('option', { value: u.id, text: (u.name || u.login) + (u.is_admin ? ' (' + t('admin') + ')' : '') }));
      }
    } catch (e) {
      form.append(el('p', { class: 'error', text: C.describeError(e) }));
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api('demo_login', {}, { operator_id: Number(select.value) });
        C.state.csrf = r.csrf;
        location.reload();
      } catch (e) {
        C.toast(C.describeError(e), true);
      }
    });
  }

  // ---- shell -------------------------------------------------------------------------------------

  function renderShell() {
    const presence = el('select', { id: 'presence', class: 'presence', 'aria-label': 'presence' },
      ['online', 'away', 'offline'].map((v) => el('option', { value: v, text: t(v), selected: (s.me.status || 'offline') === v })));
    presence.dataset.status = s.me.status || 'offline';
    presence.addEventListener('change', async () => {
      try {
        await api('set_status', {}, { status: presence.value });
        presence.dataset.status = presence.value;
        s.notOperator = false;
      } catch (e) {
        C.toast(C.describeError(e), true);
      }
    });
    // The switch only where the CRM does not tell the user's language.
    const lang = el('select', { id: 'lang', 'aria-label': t('language'), hidden: C.meta('crmchats-lang-from-crm') === '1' },
      el('option', { value: 'ru', text: 'RU', selected: C.state.lang === 'ru' }),
      el('option', { value: 'en', text: 'EN', selected: C.state.lang === 'en' }));
    lang.addEventListener('change', () => { C.setLang(lang.value); renderShell(); route(); });

    const nav = el('nav', { class: 'top-nav' },
      el('a', { href: '#', class: 'nav-link' + (s.page === 'console' ? ' active' : ''), id: 'nav-console', text: t('console') }),
      s.me.is_admin ? el('a', { href: '#reports', class: 'nav-link', id: 'nav-reports', text: t('reports') }) : null,
      el('a', { href: '#settings', class: 'nav-link', id: 'nav-settings', text: t('settings') }));
    const header = el('header', { class: 'top' },
      el('strong', { class: 'brand', text: t('title') }), nav,
      el('span', { class: 'spacer' }),
      presence, lang,
      el('span', { class: 'me', id: 'me-name', text: s.me.name || s.me.login }),
      s.info.demo ? el('button', { type: 'button', class: 'btn small', id: 'logout', text: t('logout'), onclick: logout }) : null);
    const banner = el('div', { id: 'banner', class: 'banner', hidden: true });
    const main = el('main', { id: 'main', class: 'main' });
    app.replaceChildren(header, banner, main);
  }

  async function logout() {
    try { await api('logout', {}, {}); } catch (e) { /* the reload shows the sign-in either way */ }
    location.reload();
  }

  function banner(text) {
    const b = document.getElementById('banner');
    if (!b) return;
    b.textContent = text || '';
    b.hidden = !text;
  }

  function route() {
    const main = document.getElementById('main');
    for (const a of document.querySelectorAll('.nav-link')) a.classList.remove('active');
    if (window.CrmchatsReports) window.CrmchatsReports.destroy();
    if (location.hash === '#reports' && s.me.is_admin && window.CrmchatsReports) {
      s.page = 'reports';
      document.getElementById('nav-reports').classList.add('active');
      window.CrmchatsReports.render(main, { me: s.me, operatorName });
      return;
    }
    if (location.hash === '#settings' && window.CrmchatsSettings) {
      s.page = 'settings';
      document.getElementById('nav-settings').classList.add('active');
      window.CrmchatsSettings.render(main, { me: s.me, onChange: loadOperators });
      return;
    }
    s.page = 'console';
    repliesCache = null; // the settings page may have changed them
    document.getElementById('nav-console').classList.add('active');
    renderConsole(main);
  }

  // ---- dialog list -------------------------------------------------------------------------------

  function renderConsole(main) {
    const tabs = el('div', { class: 'tabs', role: 'tablist' },
      ['mine', 'queue'].concat(s.me.is_admin ? ['all'] : []).map((v) => el('button', {
        type: 'button', role: 'tab', class: 'tab' + (s.view === v ? ' active' : ''), 'data-view': v, id: 'tab-' + v,
        text: t(v), onclick: () => { s.view = v; s.dialogs = []; localStorage.setItem('crmchats_view', v); route(); },
      })));
    const messagesMode = () => s.searchMode === 'messages';
    const search = el('input', { type: 'search', id: 'search', class: 'search', placeholder: messagesMode() ? t('search_msgs') : t('search'), value: s.search });
    const mode = el('select', { id: 'search-mode', class: 'search-mode', 'aria-label': t('search') },
      el('option', { value: 'dialogs', text: t('search_dialogs'), selected: !messagesMode() }),
      el('option', { value: 'messages', text: t('search_messages'), selected: messagesMode() }));
    const tagFilter = el('input', { type: 'search', id: 'tag-filter', class: 'tag-filter', placeholder: t('tag_filter'), value: s.tag, hidden: messagesMode() });
    const reload = () => (messagesMode() ? searchMessages() : loadDialogs('reset'));
    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { s.search = search.value.trim(); reload(); }, 300);
    });
    let tagTimer = null;
    tagFilter.addEventListener('input', () => {
      clearTimeout(tagTimer);
      tagTimer = setTimeout(() => { s.tag = tagFilter.value.trim().toLowerCase(); loadDialogs('reset'); }, 300);
    });
    mode.addEventListener('change', () => {
      s.searchMode = mode.value;
      search.placeholder = messagesMode() ? t('search_msgs') : t('search');
      tagFilter.hidden = messagesMode();
      reload();
    });
    listBox = el('ul', { id: 'dialogs', class: 'dialog-list' });
    moreBtn = el('button', { type: 'button', id: 'more', class: 'btn more', text: t('more'), hidden: true, onclick: () => loadDialogs('more') });
    const listPane = el('section', { class: 'list-pane', id: 'list-pane' }, tabs,
      el('div', { class: 'search-row' }, search, mode), el('div', { class: 'search-row' }, tagFilter), listBox, moreBtn);
    dialogPane = el('section', { class: 'dialog-pane', id: 'dialog-pane' });
    main.replaceChildren(el('div', { class: 'panes' + (s.openId ? ' dialog-open' : ''), id: 'panes' }, listPane, dialogPane));
    reload();
    if (s.openId) openDialog(s.openId, true); else renderEmptyDialog();
  }

  let listSeq = 0;
  /**
   * mode 'reset': the first page (tab, search); 'more': the next page; 'refresh' (news, actions): the
   * first page again, keeping the older pages already shown below it.
   */
  async function loadDialogs(mode) {
    // Only a newer reset (another tab or search) makes an answer stale; pages and refreshes merge.
    const seq = mode === 'reset' ? ++listSeq : listSeq;
    try {
      const r = await api('dialogs', { view: s.view, search: s.search, tag: s.tag, cursor: mode === 'more' ? s.nextCursor : '' });
      if (seq !== listSeq) return;
      if (s.searchMode === 'messages') return;
      const page = r.dialogs || [];
      if (mode === 'more') {
        const shown = new Set(s.dialogs.map((d) => d.id));
        s.dialogs = s.dialogs.concat(page.filter((d) => !shown.has(d.id)));
        s.nextCursor = r.next_cursor || null;
      } else if (mode === 'refresh' && s.dialogs.length > page.length && r.next_cursor) {
        const fresh = new Set(page.map((d) => d.id));
        const last = page[page.length - 1];
        const below = (d) => d.updated_at < last.updated_at || (d.updated_at === last.updated_at && d.id < last.id);
        s.dialogs = page.concat(s.dialogs.filter((d) => !fresh.has(d.id) && below(d)));
      } else {
        s.dialogs = page;
        s.nextCursor = r.next_cursor || null;
      }
      renderDialogs();
    } catch (e) {
      if (listBox) listBox.replaceChildren(el('li', { class: 'empty error', text: C.describeError(e) }));
    }
  }

  /** Messages search: hits (newest first) in place of the dialog list; a click opens the dialog. */
  async function searchMessages() {
    const seq = ++listSeq;
    if (!listBox) return;
    moreBtn.hidden = true;
    if (s.search.length < 2) {
      listBox.replaceChildren(el('li', { class: 'empty', text: t('search_hint') }));
      return;
    }
    try {
      const r = await api('message_search', { q: s.search });
      if (seq !== listSeq) return;
      s.hits = r.messages || [];
      listBox.replaceChildren();
      if (!s.hits.length) listBox.append(el('li', { class: 'empty', text: t('nothing_found') }));
      for (const m of s.hits) {
        const author = m.author || {};
        const who = m.direction === 'out' ? (author.type === 'operator' ? author.name || operatorName(author.id) : t('auto')) : t('visitor');
        const item = el('li', { class: 'search-hit' + (m.dialog_id === s.openId ? ' active' : ''), 'data-dialog': m.dialog_id, 'data-message': m.id, tabindex: 0, role: 'button' },
          el('div', { class: 'di-top' }, el('span', { class: 'di-name', text: who + ' · #' + m.dialog_id }),
            el('span', { class: 'di-time', text: C.formatTime(m.created_at, true) })),
          el('div', { class: 'hit-text', text: m.text || '' }));
        item.addEventListener('click', () => openMessage(m.dialog_id, m.id));
        item.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openMessage(m.dialog_id, m.id); });
        listBox.append(item);
      }
    } catch (e) {
      if (seq === listSeq) listBox.replaceChildren(el('li', { class: 'empty error', text: C.describeError(e) }));
    }
  }

  function ratingMark(d, id) {
    if (!d || !d.rating) return null;
    return el('span', { class: 'rating', id, title: t('rating_title', { n: d.rating }), text: '★ ' + d.rating });
  }

  function avatar(visitor, size) {
    const url = C.safeUrl(visitor && visitor.avatar_url);
    const name = (visitor && (visitor.name || visitor.username)) || '?';
    if (url) return el('img', { class: 'avatar' + (size ? ' ' + size : ''), src: url, alt: '', loading: 'lazy' });
    return el('span', { class: 'avatar initials' + (size ? ' ' + size : ''), text: name.trim().slice(0, 1).toUpperCase() || '?' });
  }

  function channelIcon(channel) {
    const type = (channel && channel.type) || '';
    return el('span', { class: 'ch-icon ch-' + type.replace(/[^a-z_]/g, ''), title: (channel && channel.name) || type, text: CHANNEL_LABELS[type] || '•' });
  }

  function visitorName(v) {
    return (v && (v.name || (v.username ? '@' + v.username : ''))) || t('visitor') + ' #' + (v ? v.id : '?');
  }

  function renderDialogs() {
    primeUnreadOnce();
    if (!listBox) return;
    if (s.searchMode === 'messages') { updateTitle(); return; }
    listBox.replaceChildren();
    if (!s.dialogs.length) listBox.append(el('li', { class: 'empty', text: t('empty_list') }));
    for (const d of s.dialogs) {
      const last = d.last_message || {};
      const item = el('li', {
        class: 'dialog-item' + (d.id === s.openId ? ' active' : '') + (d.status === 'closed' ? ' closed' : '') + (d.unread > 0 ? ' has-unread' : ''),
        'data-id': d.id, tabindex: 0, role: 'button',
      },
      avatar(d.visitor),
      el('div', { class: 'di-main' },
        el('div', { class: 'di-top' }, channelIcon(d.channel), el('span', { class: 'di-name', text: visitorName(d.visitor) }),
          ratingMark(d), el('span', { class: 'di-time', text: C.formatTime(last.at || d.updated_at) })),
        el('div', { class: 'di-bottom' },
          el('span', { class: 'di-preview', text: (last.direction === 'out' ? '→ ' : '') + (last.text || '') }),
          d.assigned_operator_id === null && d.status === 'open' ? el('span', { class: 'tag queue-tag', text: t('in_queue') }) : null,
          d.unread > 0 ? el('span', { class: 'badge', text: d.unread }) : null)));
      item.addEventListener('click', () => openDialog(d.id));
      item.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openDialog(d.id); });
      listBox.append(item);
    }
    moreBtn.hidden = !s.nextCursor;
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const d of s.dialogs) {
      if ((d.operator_ids || []).includes(s.me.id) || d.assigned_operator_id === null) unread += d.unread || 0;
    }
    document.title = (unread > 0 ? '(' + unread + ') ' : '') + titleBase;
  }

  // ---- dialog view -------------------------------------------------------------------------------

  function renderEmptyDialog() {
    if (dialogPane) dialogPane.replaceChildren(el('div', { class: 'center-note', text: t('pick_dialog') }));
  }

  function closeDialogView() {
    s.openId = null;
    s.dialog = null;
    const panes = document.getElementById('panes');
    if (panes) panes.classList.remove('dialog-open');
    renderDialogs();
    renderEmptyDialog();
  }

  let dialogSeq = 0;
  async function openDialog(id, keepScroll) {
    const seq = ++dialogSeq;
    if (s.openId !== id) {
      s.messages = [];
      s.events = [];
      s.olderDone = false;
    }
    s.openId = id;
    const panes = document.getElementById('panes');
    if (panes) panes.classList.add('dialog-open');
    for (const li of document.querySelectorAll('.dialog-item')) li.classList.toggle('active', Number(li.dataset.id) === id);
    try {
      const r = await api('dialog', { dialog_id: id });
      if (seq !== dialogSeq) return;
      s.dialog = r.dialog;
      s.capabilities = r.capabilities;
      s.events = r.events || [];
      s.tags = r.tags || [];
      mergeMessages(r.messages || []);
      if ((r.messages || []).length < 50) s.olderDone = true;
      renderDialog(!keepScroll);
      if (r.dialog.unread > 0) markRead(id);
    } catch (e) {
      if (dialogPane) dialogPane.replaceChildren(el('div', { class: 'center-note error', text: C.describeError(e) }));
    }
  }

  async function refreshOpenDialog() {
    if (!s.openId) return;
    const box = document.getElementById('thread');
    const atBottom = !box || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const seq = ++dialogSeq;
    try {
      const r = await api('dialog', { dialog_id: s.openId });
      if (seq !== dialogSeq) return;
      s.dialog = r.dialog;
      s.capabilities = r.capabilities;
      s.events = r.events || [];
      s.tags = r.tags || [];
      mergeMessages(r.messages || []);
      renderDialog(atBottom);
      if (r.dialog.unread > 0 && document.visibilityState === 'visible') markRead(s.openId);
    } catch (e) {
      if (e.status === 403 || e.status === 404) closeDialogView();
    }
  }

  async function markRead(id) {
    try {
      await api('read', {}, { dialog_id: id });
      const d = s.dialogs.find((x) => x.id === id);
      if (d) { d.unread = 0; s.unreadSeen.set(id, 0); renderDialogs(); }
    } catch (e) { /* read marks are best effort */ }
  }

  function mergeMessages(list) {
    const byId = new Map(s.messages.map((m) => [m.id, m]));
    for (const m of list) byId.set(m.id, m);
    s.messages = Array.from(byId.values()).sort((a, b) => a.id - b.id);
  }

  /** Opens a dialog at one of its messages (a search hit): older pages load until it is shown. */
  async function openMessage(dialogId, messageId) {
    await openDialog(dialogId);
    for (let page = 0; page < 40; page++) {
      if (s.openId !== dialogId) return;
      const found = document.querySelector('#thread .msg[data-id="' + Number(messageId) + '"]');
      if (found) {
        found.classList.add('found');
        found.scrollIntoView({ block: 'center' });
        setTimeout(() => found.classList.remove('found'), 4000);
        return;
      }
      if (s.olderDone || !s.messages.length || s.messages[0].id < messageId) return;
      await loadOlder();
    }
  }

  async function loadOlder() {
    if (!s.openId || !s.messages.length) return;
    const box = document.getElementById('thread');
    const fromBottom = box ? box.scrollHeight - box.scrollTop : 0;
    try {
      const r = await api('messages', { dialog_id: s.openId, before_id: s.messages[0].id });
      const older = r.messages || [];
      if (older.length < 50) s.olderDone = true;
      mergeMessages(older);
      renderDialog(false);
      const b = document.getElementById('thread');
      if (b) b.scrollTop = b.scrollHeight - fromBottom;
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
  }

  function isMember(d) {
    return (d.operator_ids || []).includes(s.me.id) || d.assigned_operator_id === s.me.id;
  }

  function actionButton(action, label, handler, cls) {
    return el('button', { type: 'button', class: 'btn small ' + (cls || ''), 'data-action': action, text: label, onclick: handler });
  }

  async function dialogAction(action, extra) {
    try {
      await api(action, {}, Object.assign({ dialog_id: s.openId }, extra || {}));
      await Promise.all([refreshOpenDialog(), loadDialogs('refresh')]);
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
  }

  function renderDialog(scrollDown) {
    const d = s.dialog;
    if (!d || !dialogPane) return;
    // The new-tag field moves into the new head: note the focus before the move drops it.
    const tagFocused = Boolean(s.tagField) && document.activeElement === s.tagField.input;
    const v = d.visitor || {};
    const actions = el('div', { class: 'actions', id: 'dialog-actions' });
    const member = isMember(d);
    if (d.status === 'open') {
      if (d.assigned_operator_id === null) actions.append(actionButton('take', t('take'), () => dialogAction('take'), 'primary'));
      else if (!member) actions.append(actionButton('join', t('join'), () => dialogAction('join')));
      if (member && d.assigned_operator_id !== s.me.id) actions.append(actionButton('leave', t('leave'), () => dialogAction('leave')));
      if (member || s.me.is_admin) actions.append(actionButton('transfer', t('transfer'), openTransfer));
      actions.append(actionButton('close', t('close'), () => dialogAction('close')));
    } else {
      actions.append(actionButton('reopen', t('reopen'), () => dialogAction('reopen')));
    }
    if (d.client_id) {
      actions.append(el('a', { class: 'btn small', 'data-action': 'client-card', href: s.info.client_card_url + encodeURIComponent(d.client_id), target: '_blank', rel: 'noopener', text: t('client_card') }));
    } else if (d.contact_id) {
      actions.append(el('a', { class: 'btn small', 'data-action': 'contact-card', href: s.info.contact_card_url + encodeURIComponent(d.contact_id), target: '_blank', rel: 'noopener', text: t('contact_card') }));
    }
    if (d.client_id || d.contact_id) actions.append(actionButton('unlink', t('unlink'), () => visitorAction('unlink')));
    else actions.append(actionButton('link', t('link'), openLink));

    const head = el('div', { class: 'dialog-head' },
      el('button', { type: 'button', class: 'icon-btn back', id: 'back', 'aria-label': t('back'), text: '←', onclick: closeDialogView }),
      avatar(v, 'big'),
      el('div', { class: 'dh-title' },
        el('div', { class: 'dh-name', id: 'dialog-name', text: visitorName(v) }),
        el('div', { class: 'dh-sub' }, channelIcon(d.channel), ' ', (d.channel && d.channel.name) || '', ' · ',
          el('span', { class: 'status-' + d.status, id: 'dialog-status', text: d.status === 'open' ? t('status_open') : t('status_closed') }),
          ' · ', d.assigned_operator_id === null ? t('in_queue') : t('assigned_to', { name: operatorName(d.assigned_operator_id) }),
          d.rating ? ' · ' : null, ratingMark(d, 'dialog-rating')),
        renderTags(d)),
      actions);

    // The pane's parts stay while the same dialog is shown: news re-render the head, the rule and
    // the thread's content, never the composer (what the operator is typing and the picked files stay).
    let parts = s.parts;
    if (!parts || parts.id !== d.id || !dialogPane.contains(parts.thread)) {
      parts = { id: d.id, head: el('div'), rule: el('div'), thread: el('div', { class: 'thread', id: 'thread' }), composer: renderComposer(d) };
      s.parts = parts;
      dialogPane.replaceChildren(parts.head, parts.rule, parts.thread, parts.composer);
    }
    parts.head.replaceWith(head);
    parts.head = head;
    if (tagFocused && head.contains(s.tagField.input)) s.tagField.input.focus();
    const rule = replyRule(d) || el('div', { hidden: true });
    parts.rule.replaceWith(rule);
    parts.rule = rule;

    const thread = parts.thread;
    const items = s.messages.map((m) => ({ at: m.created_at, key: 1, m }))
      .concat(s.events.filter((e) => s.olderDone || !s.messages.length || e.at >= s.messages[0].created_at)
        .map((e) => ({ at: e.at, key: e.kind === 'dialog_opened' ? 0 : 2, e })));
    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.key - b.key));
    const nodes = items.map((it) => (it.m ? renderMessage(it.m) : renderEvent(it.e)));
    if (!s.olderDone && s.messages.length) nodes.unshift(el('button', { type: 'button', class: 'btn small older', id: 'older', text: t('load_older'), onclick: loadOlder }));
    const keep = thread.scrollTop;
    thread.replaceChildren(...nodes);
    thread.scrollTop = scrollDown ? thread.scrollHeight : keep;
    // Images load later: keep the newest message in view when they do.
    if (scrollDown) {
      for (const img of thread.querySelectorAll('img')) img.addEventListener('load', () => { thread.scrollTop = thread.scrollHeight; }, { once: true });
    }
  }

  function renderTags(d) {
    const box = el('div', { class: 'dh-tags', id: 'dialog-tags', 'aria-label': t('tags') });
    for (const tag of s.tags) {
      box.append(el('span', { class: 'chip', 'data-tag': tag }, tag,
        el('button', { type: 'button', class: 'chip-x', 'data-action': 'untag', 'aria-label': t('remove_tag', { tag }), text: '×',
          onclick: () => changeTag('untag', tag) })));
    }
    box.append(tagInput(d));
    return box;
  }

  /** The new-tag field stays the same element while the dialog is shown: news redraw the head around it. */
  function tagInput(d) {
    if (s.tagField && s.tagField.dialogId === d.id) return s.tagField.input;
    const input = el('input', { type: 'text', id: 'tag-add', class: 'tag-add', maxlength: 64, placeholder: t('add_tag'), 'aria-label': t('add_tag') });
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.isComposing) {
        ev.preventDefault();
        const tag = input.value.trim();
        if (tag) changeTag('tag', tag);
      }
    });
    s.tagField = { dialogId: d.id, input };
    return input;
  }

  async function changeTag(action, tag) {
    try {
      const r = await api(action, {}, { dialog_id: s.openId, tag });
      s.tags = r.tags || [];
      if (action === 'tag' && s.tagField) s.tagField.input.value = '';
      renderDialog(false);
      if (s.tag) loadDialogs('refresh');
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
  }

  function replyRule(d) {
    const hours = s.capabilities && s.capabilities.reply_window_hours;
    if (!hours) return null;
    const lastIn = [...s.messages].reverse().find((m) => m.direction === 'in');
    let text;
    let closed = false;
    if (!lastIn) {
      text = t('window_none', { hours });
    } else {
      const left = new Date(lastIn.created_at).getTime() + hours * 3600000 - Date.now();
      if (left > 0) {
        const h = Math.floor(left / 3600000);
        const m = Math.floor((left % 3600000) / 60000);
        text = t('window_left', { hours, left: (h ? h + ' ' + t('h') + ' ' : '') + m + ' ' + t('min') });
      } else {
        closed = true;
        text = t('window_closed', { hours, when: C.formatTime(lastIn.created_at, true) });
      }
    }
    return el('div', { class: 'rule' + (closed ? ' rule-closed' : ''), id: 'reply-rule', text });
  }

  function statusMark(m) {
    switch (m.status) {
      case 'queued': return '🕓';
      case 'sent': return '✓';
      case 'delivered': return '✓✓';
      case 'read': return '✓✓';
      case 'failed': return '⚠';
      default: return '';
    }
  }

  function renderMessage(m) {
    const author = m.author || {};
    const own = m.direction === 'out' && author.type === 'operator' && author.id === s.me.id;
    const box = el('div', {
      class: 'msg ' + (m.direction === 'out' ? 'out' : 'in') + (author.type === 'system' ? ' auto' : '') + ' st-' + m.status,
      'data-id': m.id,
    });
    if (m.direction === 'out' || author.type === 'system') {
      box.append(el('div', { class: 'msg-author', text: author.type === 'operator' ? (author.name || operatorName(author.id)) : t('auto') }));
    }
    if (m.text) box.append(el('div', { class: 'msg-text', text: m.text }));
    for (const a of m.attachments || []) {
      const url = C.safeUrl(a.url);
      const isImage = /^image\//.test(a.mime || '');
      if (url && isImage) {
        box.append(el('a', { href: url, target: '_blank', rel: 'noopener', class: 'att-img-link' },
          el('img', { class: 'att-img', src: url, alt: a.name || '', loading: 'lazy' })));
      } else {
        const dl = url ? url + (url.includes('?') ? '&' : '?') + 'download=1' : null;
        box.append(el(dl ? 'a' : 'span', { class: 'att-file', href: dl, download: a.name || 'file', rel: 'noopener' },
          '⤓ ', a.name || 'file', a.size ? ' (' + Math.max(1, Math.round(a.size / 1024)) + ' KB)' : ''));
      }
      if (a.error) box.append(el('div', { class: 'msg-error', text: C.describeError(a.error) }));
    }
    const meta = el('div', { class: 'msg-meta' }, el('span', { text: C.formatTime(m.created_at) }));
    if (m.edited_at) meta.append(el('span', { text: ' ✎' }));
    if (m.direction === 'out') meta.append(el('span', { class: 'mark mark-' + m.status, title: m.status, text: ' ' + statusMark(m) }));
    if (m.status === 'deleted') meta.append(el('span', { class: 'deleted', text: ' ' + t('deleted') }));
    if (own && m.status !== 'deleted' && m.status !== 'failed' && (!s.capabilities || s.capabilities.can_delete)) {
      meta.append(el('button', { type: 'button', class: 'link-btn del', 'data-action': 'delete-message', text: t('delete'), onclick: () => deleteMessage(m.id) }));
    }
    box.append(meta);
    if (m.status === 'failed') box.append(el('div', { class: 'msg-error', text: t('not_sent', { error: C.describeError(m.error) }) }));
    return box;
  }

  /** A reason code of the history (round_robin, idle, by_operator...) in words, or the code itself. */
  function reason(code) {
    const key = 'reason_' + String(code || '');
    const word = t(key);
    return word === key ? String(code || '') : word;
  }

  function renderNote(e) {
    const d = e.data || {};
    return el('div', { class: 'internal-note', 'data-event-id': e.id },
      el('div', { class: 'in-head' }, el('strong', { text: t('note_label') }), ' · ',
        el('span', { class: 'in-author', text: d.author_name || operatorName(e.operator_id) }),
        el('span', { class: 'ev-time', text: ' · ' + C.formatTime(e.at) })),
      el('div', { class: 'in-text', text: d.text || '' }));
  }

  function renderEvent(e) {
    if (e.kind === 'note') return renderNote(e);
    const d = e.data || {};
    let text;
    switch (e.kind) {
      case 'assigned': text = t('ev_assigned', { to: operatorName(d.operator_id), reason: reason(d.reason) }); break;
      case 'transferred':
        text = t('ev_transferred', { by: operatorName(d.by_operator_id), from: operatorName(d.from_operator_id), to: operatorName(d.to_operator_id) });
        break;
      case 'operator_joined': text = t('ev_joined', { who: operatorName(d.operator_id) }); break;
      case 'operator_left': text = t('ev_left', { who: operatorName(d.operator_id) }); break;
      case 'closed': text = t('ev_closed', { reason: reason(d.reason) }); break;
      case 'reopened': text = t('ev_reopened'); break;
      case 'dialog_opened': text = t('ev_opened'); break;
      case 'auto_reply': text = t('ev_auto_reply', { kind: reason(d.kind) }); break;
      case 'crm_linked': text = t('ev_crm_linked'); break;
      case 'crm_unlinked': text = t('ev_crm_unlinked'); break;
      case 'message_deleted': text = t('ev_deleted'); break;
      case 'message_edited': text = t('ev_edited'); break;
      case 'delivery_confirmed': text = t('ev_delivery_confirmed'); break;
      case 'rated': text = t('ev_rated', { n: d.rating }); break;
      default: text = t('ev_other', { kind: e.kind });
    }
    const box = el('div', { class: 'event ev-' + String(e.kind).replace(/[^a-z_]/g, ''), 'data-event-id': e.id },
      el('span', { class: 'ev-text', text }), el('span', { class: 'ev-time', text: ' · ' + C.formatTime(e.at) }));
    if (e.kind === 'transferred' && d.note) box.append(el('div', { class: 'ev-note', text: t('ev_note', { note: d.note }) }));
    return box;
  }

  // ---- composer ----------------------------------------------------------------------------------

  function renderComposer(d) {
    const text = el('textarea', { id: 'composer-text', rows: 2, placeholder: t('composer'), title: t('composer_hint'), 'aria-label': t('composer') });
    const file = el('input', { type: 'file', id: 'composer-file', multiple: true, hidden: true });
    const picked = el('span', { class: 'picked', id: 'composer-picked' });
    file.addEventListener('change', () => { picked.textContent = file.files.length ? t('files_selected', { n: file.files.length }) : ''; });
    const attach = el('button', { type: 'button', class: 'btn', id: 'composer-attach', text: t('attach'), title: t('attach'), onclick: () => file.click() });
    const send = el('button', { type: 'submit', class: 'btn primary', id: 'composer-send', text: t('send') });
    // Note mode: the text goes to the dialog's history for colleagues (notes.add), never to the visitor.
    const noteBox = el('input', { type: 'checkbox', id: 'composer-note' });
    const noteToggle = el('label', { class: 'note-toggle', title: t('note_placeholder') }, noteBox, ' ', t('note_mode'));
    const menu = el('ul', { class: 'reply-menu', id: 'reply-menu', role: 'listbox', hidden: true });
    const form = el('form', { class: 'composer', id: 'composer' }, menu, attach, file, noteToggle, text, picked, send);
    const setMode = () => {
      const note = noteBox.checked;
      form.classList.toggle('note-mode', note);
      text.placeholder = note ? t('note_placeholder') : t('composer');
      send.textContent = note ? t('add_note') : t('send');
      attach.disabled = note;
    };
    noteBox.addEventListener('change', () => { setMode(); text.focus(); });
    const draftKey = 'crmchats_draft_' + d.id;
    text.value = sessionStorage.getItem(draftKey) || '';
    const slash = replyMenu(d, text, menu, () => sessionStorage.setItem(draftKey, text.value));
    text.addEventListener('input', () => { sessionStorage.setItem(draftKey, text.value); slash.update(); });
    text.addEventListener('keydown', (ev) => {
      if (slash.key(ev)) return;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
    });
    text.addEventListener('blur', () => setTimeout(slash.hide, 200));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (noteBox.checked) {
        if (send.disabled || !text.value.trim()) return;
        send.disabled = true;
        try {
          await api('note', {}, { dialog_id: d.id, text: text.value });
          sessionStorage.removeItem(draftKey);
          text.value = '';
          await refreshOpenDialog();
          const box = document.getElementById('thread');
          if (box) box.scrollTop = box.scrollHeight;
        } catch (e) {
          C.toast(C.describeError(e), true);
        } finally {
          send.disabled = false;
          text.focus();
        }
        return;
      }
      const files = Array.from(file.files || []);
      if (send.disabled || (!text.value.trim() && !files.length)) return;
      send.disabled = true;
      send.textContent = t('sending');
      try {
        const attachments = [];
        for (const f of files) attachments.push({ data_base64: await C.readFileBase64(f), name: f.name, mime: f.type || 'application/octet-stream' });
        const r = await api('send', {}, { dialog_id: d.id, text: text.value, attachments });
        sessionStorage.removeItem(draftKey);
        mergeMessages([r.message]);
        text.value = '';
        file.value = '';
        picked.textContent = '';
        await Promise.all([refreshOpenDialog(), loadDialogs('refresh')]);
        const box = document.getElementById('thread');
        if (box) box.scrollTop = box.scrollHeight;
      } catch (e) {
        C.toast(C.describeError(e), true);
      } finally {
        send.disabled = false;
        setMode();
        text.focus();
      }
    });
    return form;
  }

  // ---- canned replies: `/code` in the composer ---------------------------------------------------

  let repliesCache = null;
  async function loadReplies(force) {
    if (!repliesCache || force) {
      repliesCache = api('replies').then((r) => r.replies || []).catch(() => { repliesCache = null; return []; });
    }
    return repliesCache;
  }

  /**
   * The `/` menu: a word starting with `/` right before the caret lists the canned replies whose code
   * (or title) starts with what follows; picking one puts replies.render's text in place of `/code`.
   */
  function replyMenu(d, text, menu, changed) {
    let items = [];
    let active = 0;
    let token = null; // {start, end} of `/code` in the textarea
    let seq = 0;
    const hide = () => { menu.hidden = true; items = []; token = null; };
    const draw = () => {
      menu.replaceChildren();
      if (!items.length) {
        menu.append(el('li', { class: 'reply-empty', text: t('replies_none') }));
        return;
      }
      items.forEach((r, i) => {
        const li = el('li', { class: 'reply-item' + (i === active ? ' active' : ''), role: 'option', 'data-code': r.code, 'data-reply': r.id },
          el('span', { class: 'ri-code', text: '/' + r.code }), ' ', el('span', { class: 'ri-title', text: r.title || '' }),
          el('div', { class: 'ri-text', text: r.text || '' }));
        li.addEventListener('mousedown', (ev) => { ev.preventDefault(); pick(r); });
        menu.append(li);
      });
    };
    const update = async () => {
      const before = text.value.slice(0, text.selectionStart);
      const m = /(^|\s)\/([^\s\/]*)$/u.exec(before);
      if (!m) { hide(); return; }
      const my = ++seq;
      const all = await loadReplies();
      if (my !== seq) return;
      const q = m[2].toLowerCase();
      token = { start: before.length - m[2].length - 1, end: before.length };
      items = all.filter((r) => String(r.code).toLowerCase().startsWith(q) || String(r.title || '').toLowerCase().startsWith(q)).slice(0, 8);
      active = 0;
      menu.hidden = false;
      draw();
    };
    const pick = async (r) => {
      const at = token;
      hide();
      if (!at) return;
      try {
        const rendered = await api('reply_render', {}, { reply_id: r.id, dialog_id: d.id });
        const value = text.value;
        text.value = value.slice(0, at.start) + rendered.text + value.slice(at.end);
        const caret = at.start + rendered.text.length;
        text.setSelectionRange(caret, caret);
        changed();
        text.focus();
      } catch (e) {
        C.toast(C.describeError(e), true);
      }
    };
    /** Handles the menu's keys; true when the key was the menu's. */
    const key = (ev) => {
      if (menu.hidden) return false;
      if (ev.key === 'Escape') { ev.preventDefault(); hide(); return true; }
      if (!items.length) return false;
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        active = (active + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        draw();
        return true;
      }
      if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.isComposing) {
        ev.preventDefault();
        pick(items[active]);
        return true;
      }
      return false;
    };
    return { update, key, hide };
  }

  async function deleteMessage(id) {
    if (!window.confirm(t('confirm_delete'))) return;
    try {
      const r = await api('delete_message', {}, { message_id: id });
      mergeMessages([r.message]);
      renderDialog(false);
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
  }

  // ---- transfer and CRM link ---------------------------------------------------------------------

  function openTransfer() {
    C.modal(t('transfer'), (body, close) => {
      const candidates = s.operators.filter((o) => o.is_operator && o.id !== s.me.id);
      const select = el('select', { id: 'transfer-to', required: true },
        candidates.map((o) => el('option', { value: o.id, text: (o.name || o.login) + (o.online ? ' ● ' + t('online') : '') })));
      const note = el('textarea', { id: 'transfer-note', rows: 3, maxlength: 1000 });
      const form = el('form', { class: 'form' },
        el('label', {}, t('transfer_to'), select), el('label', {}, t('note'), note),
        el('div', { class: 'form-actions' },
          el('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: close }),
          el('button', { type: 'submit', class: 'btn primary', id: 'transfer-submit', text: t('transfer') })));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
          await api('transfer', {}, { dialog_id: s.openId, to_operator_id: Number(select.value), note: note.value });
          close();
          await Promise.all([refreshOpenDialog(), loadDialogs('refresh')]);
        } catch (e) {
          C.toast(C.describeError(e), true);
        }
      });
      body.append(form);
    });
  }

  async function visitorAction(action, extra) {
    try {
      const r = await api(action, {}, Object.assign({ visitor_id: s.dialog.visitor.id }, extra || {}));
      if (r && r.linked) C.toast(t('linked', { name: r.linked.name || '#' + r.linked.id }));
      await Promise.all([refreshOpenDialog(), loadDialogs('refresh')]);
      return true;
    } catch (e) {
      C.toast(C.describeError(e), true);
      return false;
    }
  }

  function openLink() {
    C.modal(t('link'), (body, close) => {
      const q = el('input', { type: 'search', id: 'crm-q', placeholder: t('search_crm'), value: (s.dialog.visitor && s.dialog.visitor.name) || '' });
      const results = el('ul', { class: 'crm-results', id: 'crm-results' });
      let timer = null;
      const find = async () => {
        if (q.value.trim().length < 2) { results.replaceChildren(); return; }
        try {
          const r = await api('crm_search', { q: q.value.trim() });
          results.replaceChildren();
          if (!(r.results || []).length) results.append(el('li', { class: 'empty', text: t('nothing_found') }));
          for (const rec of r.results || []) {
            const field = rec.type === 'contact' ? 'contact_id' : 'client_id';
            results.append(el('li', {},
              el('span', { class: 'crm-name', text: rec.name || '#' + rec.id }),
              el('span', { class: 'muted', text: ' ' + [rec.type, rec.phone, rec.email].filter(Boolean).join(' · ') + ' ' }),
              el('button', { type: 'button', class: 'btn small', text: t('link'), onclick: async () => {
                if (await visitorAction('link', { [field]: rec.id })) close();
              } })));
          }
        } catch (e) {
          results.replaceChildren(el('li', { class: 'error', text: C.describeError(e) }));
        }
      };
      q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(find, 300); });
      body.append(q, results, el('div', { class: 'form-actions' },
        el('button', { type: 'button', class: 'btn', id: 'create-client', text: t('create_client'), onclick: async () => { if (await visitorAction('create_client')) close(); } }),
        el('button', { type: 'button', class: 'btn', id: 'create-contact', text: t('create_contact'), onclick: async () => { if (await visitorAction('create_contact')) close(); } })));
      find();
    });
  }

  // ---- presence, realtime, notifications ---------------------------------------------------------

  async function heartbeat() {
    try {
      await api('heartbeat', {}, {});
      if (s.notOperator) { s.notOperator = false; banner(''); }
    } catch (e) {
      if (e.code === 'forbidden') { s.notOperator = true; banner(t('not_operator')); }
    }
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function pollLoop() {
    let failures = 0;
    for (;;) {
      try {
        const r = await api('poll', { cursor: s.pollCursor || '' });
        const first = s.pollCursor === null;
        s.pollCursor = r.cursor || s.pollCursor || '';
        if (failures) banner(s.notOperator ? t('not_operator') : '');
        failures = 0;
        if (!first) await onNews(r);
      } catch (e) {
        failures++;
        if (e.code === 'invalid_argument') s.pollCursor = null; // a cursor the library no longer takes
        if (failures > 1) banner(t('reconnecting'));
        await sleep(Math.min(15000, 500 * 2 ** failures));
      }
    }
  }

  async function onNews(r) {
    const ids = new Set(r.dialog_ids || []);
    for (const m of r.messages || []) ids.add(m.dialog_id);
    for (const e of r.events || []) if (e.dialog_id) ids.add(e.dialog_id);
    if (!ids.size) return;
    if (s.page === 'console') {
      await loadDialogs('refresh');
      if (s.openId && ids.has(s.openId)) await refreshOpenDialog();
    } else {
      const page = await api('dialogs', { view: s.view }).catch(() => null);
      if (page) s.dialogs = page.dialogs || [];
      updateTitle();
    }
    let fresh = null;
    for (const d of s.dialogs) {
      const before = s.unreadSeen.get(d.id);
      const mine = (d.operator_ids || []).includes(s.me.id) || d.assigned_operator_id === null;
      if (mine && d.unread > (before || 0) && !(d.id === s.openId && document.visibilityState === 'visible')) fresh = d;
      s.unreadSeen.set(d.id, d.unread);
    }
    if (fresh) notify(fresh);
  }

  function askNotificationPermission() {
    if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
  }

  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.15, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.35);
    } catch (e) { /* no sound available */ }
  }

  function notify(d) {
    beep();
    if ('Notification' in window && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      const n = new Notification(t('notify_title') + ': ' + visitorName(d.visitor), { body: (d.last_message && d.last_message.text) || '', tag: 'crmchats-' + d.id });
      n.onclick = () => { window.focus(); openDialog(d.id); n.close(); };
    }
  }

  // The first list fills the unread map, so opening the console does not ring for old messages.
  let primed = false;
  function primeUnreadOnce() {
    if (primed) return;
    for (const d of s.dialogs) if (!s.unreadSeen.has(d.id)) s.unreadSeen.set(d.id, d.unread);
    primed = true;
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && s.dialog && s.dialog.unread > 0) markRead(s.openId);
  });

  start();
})();
