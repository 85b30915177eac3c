/*
 * crmchats settings for CRM admins (the console's #settings page): general dialog rules, operators,
 * channels (health, forms generated from channels.types, Check, QR code, webhook URL and tokens to copy,
 * delete). The library refuses these calls to non-admins too; the page only hides what is refused.
 */
'use strict';

window.CrmchatsSettings = (() => {
  const C = window.Crmchats;
  const { el, api, t } = C;

  C.addWords('ru', {
    s_import: 'Перенос из socialChats', import_found: 'Найдены данные плагина socialChats. Будет перенесено: {summary}.',
    import_run: 'Перенести', import_done: 'Перенесено: {summary}. Пропущено: {skipped}.', import_nothing: 'Всё уже перенесено.',
    s_general: 'Общие настройки', s_operators: 'Операторы', s_channels: 'Каналы', save: 'Сохранить', saved: 'Сохранено',
    auto_add: 'Добавлять посетителей в CRM', aa_off: 'нет', aa_client: 'как клиента', aa_contact: 'как контакт',
    distribution: 'Распределение новых диалогов', d_off: 'нет (очередь)', d_round_robin: 'по кругу', d_least_busy: 'наименее занятому',
    capacity: 'Максимум открытых диалогов на оператора (0 — без ограничения)', auto_close: 'Закрывать диалог без активности через, мин (пусто — вручную)',
    presence_timeout: 'Оператор считается не в сети без связи, сек', auto_replies: 'Автоответы и уведомления посетителю',
    ar_first_contact: 'При первом обращении', ar_operators_offline: 'Когда все операторы не в сети', ar_out_of_hours: 'В нерабочее время',
    n_operator_assigned: 'Назначен оператор ({operator_name})', n_colleague_joined: 'Подключился коллега ({operator_name})',
    working_hours: 'Рабочее время', wh_enabled: 'Учитывать рабочее время', timezone: 'Часовой пояс (пусто — как в CRM: {tz})',
    day_off: 'выходной', comet: 'Comet-сервер (необязательно)', dev_id: 'Dev ID', dev_key: 'Dev KEY',
    mon: 'Пн', tue: 'Вт', wed: 'Ср', thu: 'Чт', fri: 'Пт', sat: 'Сб', sun: 'Вс', from: 'с', to: 'до',
    user: 'Пользователь CRM', login: 'Логин', is_operator: 'Оператор', presence: 'Статус', open_dialogs: 'Открытых',
    add: 'Добавить', remove: 'Убрать', yes: 'да', no: 'нет',
    add_channel: 'Подключить канал', type: 'Тип', name: 'Название', webhook: 'Вебхук', last_in: 'Последнее входящее',
    last_out: 'Последнее исходящее', last_error: 'Последняя ошибка', health: 'Проверить связь', edit: 'Изменить',
    check: 'Проверить', checked: 'Связь есть: {name}', confirm_channel_delete: 'Удалить канал «{name}»? Вебхук будет снят, история сохранится.',
    webhook_url: 'Адрес вебхука (вставьте в настройки приложения)', copy: 'Копировать', copied: 'Скопировано',
    embed: 'Код для сайта (вставьте перед </body>)', token: 'Токен', none_yet: 'Каналов пока нет', never: '—',
    channel_form_new: 'Новый канал', channel_form_edit: 'Канал «{name}»', qr: 'Отсканируйте QR-код в WhatsApp на телефоне',
    s_replies: 'Шаблоны ответов', r_code: 'Код (после /)', r_title: 'Название', r_text: 'Текст',
    r_shared: 'Общий (для всех операторов)', r_mine: 'личный', r_shared_tag: 'общий', r_add: 'Добавить шаблон',
    r_vars: 'Переменные: {visitor_name}, {operator_name}, {company}', r_none: 'Шаблонов пока нет',
    confirm_reply_delete: 'Удалить шаблон /{code}?',
    rating: 'Оценка диалога', rating_enabled: 'Просить посетителя оценить диалог (1–5) после закрытия',
    rating_text: 'Текст вопроса', rating_window: 'Ждать оценку, мин',
    health_ok: 'Вебхук на месте', health_bad: 'Проблема: {error}', reregistered: 'вебхук зарегистрирован заново',
  });
  C.addWords('en', {
    s_import: 'Import from socialChats', import_found: 'The socialChats plugin\'s data is here. To import: {summary}.',
    import_run: 'Import', import_done: 'Imported: {summary}. Skipped: {skipped}.', import_nothing: 'Everything is imported already.',
    s_general: 'General', s_operators: 'Operators', s_channels: 'Channels', save: 'Save', saved: 'Saved',
    auto_add: 'Add visitors to the CRM', aa_off: 'no', aa_client: 'as a client', aa_contact: 'as a contact',
    distribution: 'Distribution of new dialogs', d_off: 'off (queue)', d_round_robin: 'round robin', d_least_busy: 'least busy',
    capacity: 'Most open dialogs per operator (0 = no limit)', auto_close: 'Close a dialog idle for, minutes (empty = by hand)',
    presence_timeout: 'An operator not heard from for this long is offline, seconds', auto_replies: 'Auto-replies and notices to the visitor',
    ar_first_contact: 'On the first contact', ar_operators_offline: 'When every operator is offline', ar_out_of_hours: 'Outside working hours',
    n_operator_assigned: 'An operator was assigned ({operator_name})', n_colleague_joined: 'A colleague joined ({operator_name})',
    working_hours: 'Working hours', wh_enabled: 'Use working hours', timezone: 'Time zone (empty = the CRM\'s: {tz})',
    day_off: 'day off', comet: 'Comet server (optional)', dev_id: 'Dev ID', dev_key: 'Dev KEY',
    mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun', from: 'from', to: 'to',
    user: 'CRM user', login: 'Login', is_operator: 'Operator', presence: 'Status', open_dialogs: 'Open',
    add: 'Add', remove: 'Remove', yes: 'yes', no: 'no',
    add_channel: 'Connect a channel', type: 'Type', name: 'Name', webhook: 'Webhook', last_in: 'Last inbound',
    last_out: 'Last outbound', last_error: 'Last error', health: 'Check health', edit: 'Edit',
    check: 'Check', checked: 'Connected: {name}', confirm_channel_delete: 'Delete channel "{name}"? Its webhook is removed, the history is kept.',
    webhook_url: 'Webhook URL (paste it into the app settings)', copy: 'Copy', copied: 'Copied',
    embed: 'Snippet for the website (paste before </body>)', token: 'Token', none_yet: 'No channels yet', never: '—',
    channel_form_new: 'New channel', channel_form_edit: 'Channel "{name}"', qr: 'Scan the QR code with WhatsApp on the phone',
    s_replies: 'Canned replies', r_code: 'Code (after /)', r_title: 'Title', r_text: 'Text',
    r_shared: 'Shared (for every operator)', r_mine: 'personal', r_shared_tag: 'shared', r_add: 'Add a reply',
    r_vars: 'Variables: {visitor_name}, {operator_name}, {company}', r_none: 'No canned replies yet',
    confirm_reply_delete: 'Delete the reply /{code}?',
    rating: 'Dialog rating', rating_enabled: 'Ask the visitor to rate the dialog (1-5) once it is closed',
    rating_text: 'Question text', rating_window: 'Wait for the rating, minutes',
    health_ok: 'Webhook in place', health_bad: 'Problem: {error}', reregistered: 'webhook registered again',
  });

  const TYPE_NAMES = { telegram: 'Telegram', viber: 'Viber', vk: 'VK', facebook: 'Facebook Messenger', chatapi: 'WhatsApp (ChatAPI)', whatsapp_cloud: 'WhatsApp Cloud API', widget: 'Site chat / Чат на сайте' };

  let ctx = null;
  let root = null;

  function render(main, context) {
    ctx = context;
    root = el('div', { class: 'settings-inner' });
    main.replaceChildren(el('div', { class: 'settings', id: 'settings' }, root));
    const replies = el('section', { class: 'card', id: 'settings-replies' }, el('h2', { text: t('s_replies') }));
    // An operator who is not an admin manages only their own canned replies here.
    if (!ctx.me.is_admin) {
      root.append(replies);
      renderReplies(replies);
      return;
    }
    const general = el('section', { class: 'card', id: 'settings-general' }, el('h2', { text: t('s_general') }));
    const operators = el('section', { class: 'card', id: 'settings-operators' }, el('h2', { text: t('s_operators') }));
    const channels = el('section', { class: 'card', id: 'settings-channels' }, el('h2', { text: t('s_channels') }));
    root.append(channels, operators, general, replies);
    renderReplies(replies);
    renderChannels(channels);
    renderOperators(operators);
    renderGeneral(general);
    renderImport();
  }

  // ---- import from the original plugin (shown only when its tables are found) -------------------

  function counts(map) {
    const parts = Object.entries(map || {}).filter(([, n]) => n > 0).map(([k, n]) => k + ' ' + n);
    return parts.length ? parts.join(', ') : '0';
  }

  async function renderImport() {
    let preview;
    try { preview = await api('import_preview', {}, {}); } catch (e) { return; }
    if (!preview || !preview.found) return;
    const card = el('section', { class: 'card', id: 'settings-import' }, el('h2', { text: t('s_import') }));
    const note = el('p', { text: Object.keys(preview.imported || {}).length
      ? t('import_found', { summary: counts(preview.imported) }) : t('import_nothing') });
    const run = el('button', { type: 'button', class: 'btn primary', id: 'import-run', text: t('import_run'),
      onclick: async () => {
        run.disabled = true;
        try {
          const done = await api('import_run', {}, {});
          note.textContent = t('import_done', { summary: counts(done.imported), skipped: done.skipped_total || 0 });
        } catch (e) {
          note.textContent = C.describeError(e);
          run.disabled = false;
        }
      } });
    run.hidden = !Object.keys(preview.imported || {}).length;
    card.append(note, el('div', { class: 'form-actions' }, run));
    root.append(card);
  }

  function copyRow(value, id) {
    const input = el('input', { type: 'text', readonly: true, value: value || '', id });
    return el('div', { class: 'copy-row' }, input, el('button', { type: 'button', class: 'btn small', text: t('copy'), onclick: async () => {
      input.select();
      try { await navigator.clipboard.writeText(input.value); } catch (e) { document.execCommand('copy'); }
      C.toast(t('copied'));
    } }));
  }

  // ---- general -----------------------------------------------------------------------------------

  async function renderGeneral(card) {
    let data;
    try {
      data = await api('settings');
    } catch (e) {
      card.append(el('p', { class: 'error', text: C.describeError(e) }));
      return;
    }
    const st = data.settings;
    const f = {};
    const select = (name, value, options) => (f[name] = el('select', { id: 'set-' + name },
      options.map(([v, label]) => el('option', { value: v, text: label, selected: v === value }))));
    const number = (name, value, allowEmpty) => (f[name] = el('input', { type: 'number', min: 0, id: 'set-' + name, value: value === null || value === undefined ? (allowEmpty ? '' : 0) : value }));
    const toggles = {};
    const toggle = (group, key, label) => {
      const cur = (st[group] && st[group][key]) || { enabled: false, text: '' };
      const box = el('input', { type: 'checkbox', checked: cur.enabled, id: 'set-' + group + '-' + key });
      const text = el('textarea', { rows: 2, maxlength: 1000, value: cur.text });
      text.value = cur.text || '';
      toggles[group + '.' + key] = { box, text, group, key };
      return el('div', { class: 'toggle-row' }, el('label', { class: 'check' }, box, label), text);
    };
    const wh = st.working_hours || { enabled: false, timezone: null, week: {} };
    const whEnabled = el('input', { type: 'checkbox', checked: wh.enabled, id: 'set-wh-enabled' });
    const tz = el('input', { type: 'text', id: 'set-tz', value: wh.timezone || '', placeholder: data.crm_timezone || 'Europe/Moscow' });
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    const week = el('div', { class: 'week' });
    const dayInputs = {};
    for (const d of days) {
      const span = ((wh.week || {})[d] || [])[0] || null;
      const from = el('input', { type: 'time', value: span ? span.from : '', 'aria-label': t(d) + ' ' + t('from') });
      const to = el('input', { type: 'time', value: span ? span.to : '', 'aria-label': t(d) + ' ' + t('to') });
      dayInputs[d] = { from, to, rest: ((wh.week || {})[d] || []).slice(1) };
      week.append(el('span', { text: t(d) }), from, to, el('span', { class: 'help', text: span ? '' : t('day_off') }));
    }
    const comet = st.comet || {};
    const devId = el('input', { type: 'text', id: 'set-dev-id', value: comet.dev_id || '', autocomplete: 'off' });
    const devKey = el('input', { type: 'password', id: 'set-dev-key', value: comet.dev_key || '', autocomplete: 'new-password' });

    const rating = st.rating || { enabled: false, text: '', window_minutes: 60 };
    const ratingEnabled = el('input', { type: 'checkbox', checked: rating.enabled, id: 'set-rating-enabled' });
    const ratingText = el('textarea', { rows: 2, maxlength: 1000, id: 'set-rating-text' });
    ratingText.value = rating.text || '';
    const ratingWindow = el('input', { type: 'number', min: 1, max: 10080, id: 'set-rating-window', value: rating.window_minutes || 60 });

    const form = el('form', { class: 'form', id: 'general-form' },
      el('div', { class: 'grid2' },
        el('label', {}, t('auto_add'), select('auto_add_visitors', st.auto_add_visitors, [['off', t('aa_off')], ['client', t('aa_client')], ['contact', t('aa_contact')]])),
        el('label', {}, t('distribution'), select('distribution', st.distribution, [['off', t('d_off')], ['round_robin', t('d_round_robin')], ['least_busy', t('d_least_busy')]])),
        el('label', {}, t('capacity'), number('max_open_dialogs_per_operator', st.max_open_dialogs_per_operator)),
        el('label', {}, t('auto_close'), number('auto_close_after_minutes', st.auto_close_after_minutes, true)),
        el('label', {}, t('presence_timeout'), number('presence_timeout_seconds', st.presence_timeout_seconds))),
      el('h3', { text: t('auto_replies') }),
      toggle('auto_replies', 'first_contact', t('ar_first_contact')),
      toggle('auto_replies', 'operators_offline', t('ar_operators_offline')),
      toggle('auto_replies', 'out_of_hours', t('ar_out_of_hours')),
      toggle('notices', 'operator_assigned', t('n_operator_assigned')),
      toggle('notices', 'colleague_joined', t('n_colleague_joined')),
      el('h3', { text: t('rating') }),
      el('label', { class: 'check' }, ratingEnabled, t('rating_enabled')),
      el('div', { class: 'grid2' }, el('label', {}, t('rating_text'), ratingText), el('label', {}, t('rating_window'), ratingWindow)),
      el('h3', { text: t('working_hours') }),
      el('label', { class: 'check' }, whEnabled, t('wh_enabled')),
      el('label', {}, t('timezone', { tz: data.crm_timezone || '—' }), tz),
      week,
      el('h3', { text: t('comet') }),
      el('div', { class: 'grid2' }, el('label', {}, t('dev_id'), devId), el('label', {}, t('dev_key'), devKey)),
      el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn primary', id: 'general-save', text: t('save') })));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const out = {
        auto_add_visitors: f.auto_add_visitors.value,
        distribution: f.distribution.value,
        max_open_dialogs_per_operator: Number(f.max_open_dialogs_per_operator.value || 0),
        auto_close_after_minutes: f.auto_close_after_minutes.value === '' ? null : Number(f.auto_close_after_minutes.value),
        presence_timeout_seconds: Number(f.presence_timeout_seconds.value || 0),
        auto_replies: {}, notices: {},
        working_hours: { enabled: whEnabled.checked, timezone: tz.value.trim() || null, week: {} },
        comet: { dev_id: devId.value.trim() || null, dev_key: devKey.value || null },
        rating: { enabled: ratingEnabled.checked, text: ratingText.value, window_minutes: Number(ratingWindow.value || 60) },
      };
      for (const tg of Object.values(toggles)) out[tg.group][tg.key] = { enabled: tg.box.checked, text: tg.text.value };
      for (const d of days) {
        const i = dayInputs[d];
        out.working_hours.week[d] = i.from.value && i.to.value ? [{ from: i.from.value, to: i.to.value }].concat(i.rest) : [];
      }
      try {
        await api('settings_set', {}, { settings: out });
        C.toast(t('saved'));
      } catch (e) {
        C.toast(C.describeError(e), true);
      }
    });
    card.append(form);
  }

  // ---- canned replies ----------------------------------------------------------------------------

  async function renderReplies(card) {
    const body = el('div', { class: 'table-wrap' });
    const add = el('button', { type: 'button', class: 'btn small', id: 'reply-add', text: t('r_add'), onclick: () => openReplyForm(card, null) });
    card.replaceChildren(el('h2', { text: t('s_replies') }), body, el('div', { class: 'form-actions' }, add));
    let list;
    try {
      list = (await api('replies')).replies || [];
    } catch (e) {
      body.append(el('p', { class: 'error', text: C.describeError(e) }));
      return;
    }
    if (!list.length) {
      body.append(el('p', { class: 'muted', text: t('r_none') }));
      return;
    }
    const tbody = el('tbody');
    for (const r of list) {
      const mayEdit = r.shared ? ctx.me.is_admin : r.owner_id === ctx.me.id;
      tbody.append(el('tr', { 'data-reply': r.id },
        el('td', {}, el('strong', { text: '/' + r.code })),
        el('td', { text: r.title || '' }),
        el('td', { class: 'reply-text', text: r.text || '' }),
        el('td', {}, el('span', { class: 'tag', text: r.shared ? t('r_shared_tag') : t('r_mine') })),
        el('td', { class: 'row-actions' }, mayEdit ? [
          el('button', { type: 'button', class: 'btn small', 'data-action': 'reply-edit', text: t('edit'), onclick: () => openReplyForm(card, r) }),
          el('button', { type: 'button', class: 'btn small danger', 'data-action': 'reply-delete', text: t('delete'), onclick: async () => {
            if (!window.confirm(t('confirm_reply_delete', { code: r.code }))) return;
            try {
              await api('reply_delete', {}, { reply_id: r.id });
              renderReplies(card);
            } catch (e) {
              C.toast(C.describeError(e), true);
            }
          } })] : null)));
    }
    body.append(el('table', { class: 'table', id: 'replies-table' },
      el('thead', {}, el('tr', {}, [t('r_code'), t('r_title'), t('r_text'), '', ''].map((h) => el('th', { text: h })))), tbody));
  }

  function openReplyForm(card, reply) {
    C.modal(reply ? '/' + reply.code : t('r_add'), (body, close) => {
      const code = el('input', { type: 'text', id: 'reply-code', maxlength: 64, required: true, value: reply ? reply.code : '' });
      const title = el('input', { type: 'text', id: 'reply-title', maxlength: 200, value: reply ? reply.title || '' : '' });
      const text = el('textarea', { id: 'reply-text', rows: 5, maxlength: 5000, required: true });
      text.value = reply ? reply.text || '' : '';
      const shared = el('input', { type: 'checkbox', id: 'reply-shared', checked: reply ? reply.shared : false, disabled: Boolean(reply) });
      const form = el('form', { class: 'form' },
        el('label', {}, t('r_code'), code), el('label', {}, t('r_title'), title), el('label', {}, t('r_text'), text),
        el('p', { class: 'help', text: t('r_vars') }),
        ctx.me.is_admin ? el('label', { class: 'check' }, shared, t('r_shared')) : null,
        el('div', { class: 'form-actions' },
          el('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: close }),
          el('button', { type: 'submit', class: 'btn primary', id: 'reply-save', text: t('save') })));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const request = { code: code.value.trim(), title: title.value.trim(), text: text.value };
        try {
          if (reply) await api('reply_update', {}, Object.assign({ reply_id: reply.id }, request));
          else await api('reply_create', {}, Object.assign({ shared: ctx.me.is_admin && shared.checked }, request));
          close();
          C.toast(t('saved'));
          renderReplies(card);
        } catch (e) {
          C.toast(C.describeError(e), true);
        }
      });
      body.append(form);
    });
  }

  // ---- operators ---------------------------------------------------------------------------------

  async function renderOperators(card) {
    const body = el('div', { class: 'table-wrap' });
    card.replaceChildren(el('h2', { text: t('s_operators') }), body);
    let users;
    try {
      users = (await api('operators')).operators || [];
    } catch (e) {
      body.append(el('p', { class: 'error', text: C.describeError(e) }));
      return;
    }
    const table = el('table', { class: 'table', id: 'operators-table' },
      el('thead', {}, el('tr', {}, [t('user'), t('login'), t('is_operator'), t('presence'), t('open_dialogs'), ''].map((h) => el('th', { text: h })))));
    const tbody = el('tbody');
    for (const u of users) {
      const change = async (action) => {
        try {
          await api(action, {}, { user_ids: [u.id] });
          if (ctx && ctx.onChange) await ctx.onChange();
          renderOperators(card);
        } catch (e) {
          C.toast(C.describeError(e), true);
        }
      };
      tbody.append(el('tr', { 'data-user': u.id },
        el('td', {}, u.name || '', u.is_admin ? el('span', { class: 'tag', text: ' ' + t('admin') }) : null),
        el('td', { text: u.login || '' }),
        el('td', { text: u.is_operator ? t('yes') : t('no') }),
        el('td', { class: u.online ? 'ok' : 'muted', text: u.is_operator ? t(u.online ? (u.status || 'online') : 'offline') : '' }),
        el('td', { text: u.is_operator ? String(u.open_dialogs || 0) : '' }),
        el('td', {}, u.is_operator
          ? el('button', { type: 'button', class: 'btn small danger', 'data-action': 'operator-remove', text: t('remove'), onclick: () => change('operators_remove') })
          : el('button', { type: 'button', class: 'btn small', 'data-action': 'operator-add', text: t('add'), onclick: () => change('operators_add') }))));
    }
    table.append(tbody);
    body.append(table);
  }

  // ---- channels ----------------------------------------------------------------------------------

  let types = null;

  async function renderChannels(card) {
    const body = el('div', { class: 'table-wrap' });
    const addType = el('select', { id: 'channel-type' });
    const addBtn = el('button', { type: 'button', class: 'btn primary small', id: 'channel-add', text: t('add_channel') });
    card.replaceChildren(el('h2', { text: t('s_channels') }), el('div', { class: 'form-actions' }, addType, addBtn), body);
    let channels;
    try {
      const [list, typeList] = await Promise.all([api('channels'), types ? Promise.resolve({ types }) : api('channel_types')]);
      channels = list.channels || [];
      types = typeList.types || [];
    } catch (e) {
      body.append(el('p', { class: 'error', text: C.describeError(e) }));
      return;
    }
    for (const ty of types) addType.append(el('option', { value: ty.type, text: TYPE_NAMES[ty.type] || ty.type }));
    addBtn.addEventListener('click', () => openChannelForm(card, types.find((x) => x.type === addType.value), null));
    const active = channels.filter((c) => c.active);
    if (!active.length) {
      body.append(el('p', { class: 'muted', text: t('none_yet') }));
      return;
    }
    const table = el('table', { class: 'table', id: 'channels-table' },
      el('thead', {}, el('tr', {}, [t('name'), t('type'), t('webhook'), t('last_in'), t('last_out'), t('last_error'), ''].map((h) => el('th', { text: h })))));
    const tbody = el('tbody');
    for (const c of active) {
      const a = c.activity || {};
      const w = c.webhook || {};
      const healthCell = el('td', { class: w.state === 'registered' ? 'ok' : 'bad', text: w.state || '' });
      if (w.error) healthCell.append(el('div', { class: 'help', text: w.error }));
      tbody.append(el('tr', { 'data-channel': c.id },
        el('td', {}, el('strong', { text: c.name }), c.bot_name ? el('div', { class: 'help', text: c.bot_name + (c.external_id ? ' · ' + c.external_id : '') }) : null),
        el('td', { text: TYPE_NAMES[c.type] || c.type }),
        healthCell,
        el('td', { text: a.last_inbound_at ? C.formatTime(a.last_inbound_at, true) : t('never') }),
        el('td', { text: a.last_outbound_at ? C.formatTime(a.last_outbound_at, true) : t('never') }),
        el('td', { class: a.last_error ? 'bad' : '' }, a.last_error ? a.last_error + (a.last_error_at ? ' (' + C.formatTime(a.last_error_at, true) + ')' : '') : t('never')),
        el('td', {},
          el('button', { type: 'button', class: 'btn small', 'data-action': 'channel-edit', text: t('edit'), onclick: () => openChannelForm(card, types.find((x) => x.type === c.type), c) }),
          ' ',
          el('button', { type: 'button', class: 'btn small', 'data-action': 'channel-health', text: t('health'), onclick: () => checkHealth(card, c) }),
          ' ',
          el('button', { type: 'button', class: 'btn small danger', 'data-action': 'channel-delete', text: t('delete'), onclick: () => deleteChannel(card, c) }))));
    }
    table.append(tbody);
    body.append(table);
  }

  async function checkHealth(card, c) {
    try {
      const r = await api('channel_health', {}, { channel_id: c.id });
      const m = r.messenger || {};
      const note = m.webhook && (m.webhook.note || m.webhook.last_error);
      if (m.ok) C.toast(t('health_ok') + (r.reregistered ? ' (' + t('reregistered') + ')' : '') + (note ? ' — ' + note : ''));
      else C.toast(t('health_bad', { error: C.describeError(m.error) }), true);
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
    renderChannels(card);
  }

  async function deleteChannel(card, c) {
    if (!window.confirm(t('confirm_channel_delete', { name: c.name }))) return;
    try {
      await api('channel_delete', {}, { channel_id: c.id });
      renderChannels(card);
    } catch (e) {
      C.toast(C.describeError(e), true);
    }
  }

  function fieldLabel(f) {
    return (C.state.lang === 'ru' ? f.label_ru || f.label : f.label || f.name) + (f.required ? ' *' : '');
  }

  function openChannelForm(card, type, channel) {
    if (!type) return;
    const title = channel ? t('channel_form_edit', { name: channel.name }) : t('channel_form_new') + ': ' + (TYPE_NAMES[type.type] || type.type);
    C.modal(title, (body, close) => {
      const inputs = {};
      const name = el('input', { type: 'text', id: 'channel-name', required: true, value: channel ? channel.name : (TYPE_NAMES[type.type] || type.type) });
      const form = el('form', { class: 'form', id: 'channel-form' }, el('label', {}, t('name') + ' *', name));
      for (const f of type.fields || []) {
        const current = channel ? (f.name === 'token' ? channel.token : (channel.settings || {})[f.name]) : '';
        const value = current === null || current === undefined ? '' : String(current);
        let input;
        if (f.kind === 'generated' || f.kind === 'readonly') {
          if (!channel && f.kind === 'readonly') continue;
          input = copyRow(value, 'field-' + f.name);
          inputs[f.name] = null;
        } else {
          input = el('input', {
            type: f.kind === 'secret' ? 'password' : f.kind === 'number' ? 'number' : f.kind === 'url' ? 'url' : 'text',
            id: 'field-' + f.name, name: f.name, value, required: f.required && !channel, autocomplete: 'off',
          });
          inputs[f.name] = input;
        }
        form.append(el('label', {}, fieldLabel(f), input, f.help ? el('span', { class: 'help', text: f.help }) : null));
      }
      const result = el('div', { class: 'check-result', id: 'check-result', hidden: true });
      const qr = el('div', { class: 'qr', id: 'check-qr' });
      const extra = el('div', { class: 'form' });
      if (channel) {
        if (channel.embed) extra.append(el('label', {}, t('embed'), el('pre', { class: 'embed', id: 'channel-embed', text: channel.embed }), copyRow(channel.embed, 'channel-embed-copy')));
        if (channel.type !== 'widget' && channel.webhook && channel.webhook.url) extra.append(el('label', {}, t('webhook_url'), copyRow(channel.webhook.url, 'channel-webhook-url')));
      }
      const collect = () => {
        const settings = {};
        let token;
        for (const [k, input] of Object.entries(inputs)) {
          if (!input) continue;
          const v = input.value.trim();
          if (k === 'token') { if (v !== '') token = v; continue; }
          if (v === '' && !channel) continue;
          settings[k] = input.type === 'number' && v !== '' ? Number(v) : v;
        }
        return { token, settings };
      };
      const checkBtn = el('button', { type: 'button', class: 'btn', id: 'channel-check', text: t('check') });
      checkBtn.addEventListener('click', async () => {
        const { token, settings } = collect();
        result.hidden = false;
        result.className = 'check-result';
        result.textContent = '…';
        qr.replaceChildren();
        try {
          const r = await api('channel_check', {}, { type: type.type, token: token !== undefined ? token : (channel ? channel.token : ''), settings });
          result.classList.add('ok');
          result.textContent = t('checked', { name: [r.bot_name, r.username ? '@' + r.username : null, r.bot_id ? '#' + r.bot_id : null].filter(Boolean).join(' ') });
          if (!channel && r.bot_name && (name.value === '' || name.value === (TYPE_NAMES[type.type] || type.type))) name.value = r.bot_name;
          const details = r.details || {};
          for (const [k, v] of Object.entries(details)) {
            if (k === 'qr_code' && typeof v === 'string' && /^(data:image\/(png|gif|jpeg|svg\+xml);base64,|https:\/\/)/.test(v)) {
              qr.append(el('p', { text: t('qr') }), el('img', { src: v, alt: 'QR' }));
            } else if (typeof v === 'string' || typeof v === 'number') {
              result.append(el('div', { class: 'help', text: k + ': ' + v }));
            }
          }
        } catch (e) {
          result.classList.add('bad');
          result.textContent = C.describeError(e);
        }
      });
      const saveBtn = el('button', { type: 'submit', class: 'btn primary', id: 'channel-save', text: t('save') });
      form.append(result, qr, extra, el('div', { class: 'form-actions' },
        el('button', { type: 'button', class: 'btn', text: t('cancel'), onclick: close }), checkBtn, saveBtn));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const { token, settings } = collect();
        const request = { name: name.value.trim(), settings };
        if (token !== undefined) request.token = token;
        saveBtn.disabled = true;
        try {
          let saved;
          if (channel) saved = await api('channel_update', {}, Object.assign({ channel_id: channel.id }, request));
          else saved = await api('channel_create', {}, Object.assign({ type: type.type }, request));
          close();
          C.toast(t('saved'));
          await renderChannels(card);
          // A new channel: show what must be copied elsewhere (webhook URL, verify token, snippet).
          if (!channel && saved && saved.channel) openChannelForm(card, type, saved.channel);
        } catch (e) {
          result.hidden = false;
          result.className = 'check-result bad';
          result.textContent = C.describeError(e);
          saveBtn.disabled = false;
        }
      });
      body.append(form);
    });
  }

  return { render };
})();
