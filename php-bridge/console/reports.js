/*
 * crmchats reports (the console's #reports page, CRM admins): a period, day/week buckets and a channel
 * filter over the library's reports.summary, drawn with Chart.js (vendor/chart.umd.min.js, served from
 * the plugin, no CDN), with a CSV export of the buckets made in the browser.
 */
'use strict';

window.CrmchatsReports = (() => {
  const C = window.Crmchats;
  const { el, api, t } = C;

  C.addWords('ru', {
    reports: 'Отчёты', r_from: 'С', r_to: 'По', r_group: 'Группировать', r_day: 'по дням', r_week: 'по неделям',
    r_channel: 'Канал', r_all_channels: 'Все каналы', r_show: 'Показать', r_csv: 'Скачать CSV',
    r_new_dialogs: 'Новые диалоги', r_messages: 'Сообщения', r_in: 'Входящие', r_out: 'Исходящие',
    r_closed: 'Закрыто', r_unanswered: 'Без ответа', r_first_response: 'Первый ответ (медиана / p90)',
    r_time_to_close: 'Время до закрытия (медиана / p90)', r_rating: 'Оценка', r_ratings: 'Оценки',
    r_by_operator: 'По операторам', r_operator: 'Оператор', r_dialogs: 'Диалогов', r_fr_median: 'Первый ответ, медиана',
    r_timezone: 'Часовой пояс: {tz}', r_no_chart: 'Библиотека графиков не загрузилась', r_start: 'Начало периода',
    r_bad_period: 'Период: «по» должно быть не раньше «с»', r_none: '—',
  });
  C.addWords('en', {
    reports: 'Reports', r_from: 'From', r_to: 'To', r_group: 'Group', r_day: 'by day', r_week: 'by week',
    r_channel: 'Channel', r_all_channels: 'All channels', r_show: 'Show', r_csv: 'Download CSV',
    r_new_dialogs: 'New dialogs', r_messages: 'Messages', r_in: 'Inbound', r_out: 'Outbound',
    r_closed: 'Closed', r_unanswered: 'Unanswered', r_first_response: 'First response (median / p90)',
    r_time_to_close: 'Time to close (median / p90)', r_rating: 'Rating', r_ratings: 'Ratings',
    r_by_operator: 'By operator', r_operator: 'Operator', r_dialogs: 'Dialogs', r_fr_median: 'First response, median',
    r_timezone: 'Time zone: {tz}', r_no_chart: 'The chart library did not load', r_start: 'Period start',
    r_bad_period: 'Period: "to" must not be before "from"', r_none: '—',
  });

  const COLORS = ['#2f6fde', '#ff7a00', '#2e9d4f', '#7360f2', '#e0342b', '#229ed9', '#b07800', '#8a94a6'];
  let charts = [];
  let last = null; // the last summary, for the CSV

  const isoDay = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return t('r_none');
    const s = Math.round(seconds);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.round(s / 60) + ' ' + t('min');
    return (s / 3600).toFixed(1) + ' ' + t('h');
  }

  function destroyCharts() {
    for (const c of charts) c.destroy();
    charts = [];
  }

  async function render(main, context) {
    destroyCharts();
    const today = new Date();
    const monthAgo = new Date(today.getTime() - 29 * 86400000);
    const from = el('input', { type: 'date', id: 'report-from', value: isoDay(monthAgo) });
    const to = el('input', { type: 'date', id: 'report-to', value: isoDay(today) });
    const group = el('select', { id: 'report-group' },
      el('option', { value: 'day', text: t('r_day') }), el('option', { value: 'week', text: t('r_week') }));
    const channel = el('select', { id: 'report-channel' }, el('option', { value: '', text: t('r_all_channels') }));
    const csv = el('button', { type: 'button', class: 'btn', id: 'report-csv', text: t('r_csv'), disabled: true, onclick: downloadCsv });
    const form = el('form', { class: 'report-filters', id: 'report-form' },
      el('label', {}, t('r_from'), from), el('label', {}, t('r_to'), to), el('label', {}, t('r_group'), group),
      el('label', {}, t('r_channel'), channel),
      el('button', { type: 'submit', class: 'btn primary', id: 'report-show', text: t('r_show') }), csv);
    const out = el('div', { class: 'report-out', id: 'report-out' });
    main.replaceChildren(el('div', { class: 'settings reports', id: 'reports' },
      el('div', { class: 'settings-inner' }, el('section', { class: 'card' }, el('h2', { text: t('reports') }), form), out)));
    const channels = new Map();
    try {
      for (const c of (await api('channels')).channels || []) {
        channels.set(c.id, c.name || c.type);
        channel.append(el('option', { value: c.id, text: c.name || c.type }));
      }
    } catch (e) { /* the filter stays at "all" */ }
    const show = async () => {
      if (!from.value || !to.value || to.value < from.value) { C.toast(t('r_bad_period'), true); return; }
      // The library takes instants; the day boundaries are the browser's, the buckets the CRM's time zone.
      const start = new Date(from.value + 'T00:00:00');
      const end = new Date(new Date(to.value + 'T00:00:00').getTime() + 86400000);
      try {
        const r = await api('report', { from: start.toISOString(), to: end.toISOString(), group_by: group.value, channel_id: channel.value });
        r.buckets = fillBuckets(r.buckets || [], from.value, to.value, group.value);
        last = r;
        csv.disabled = false;
        draw(out, r, channels, context);
      } catch (e) {
        csv.disabled = true;
        destroyCharts();
        out.replaceChildren(el('p', { class: 'error card', text: C.describeError(e) }));
      }
    };
    form.addEventListener('submit', (ev) => { ev.preventDefault(); show(); });
    await show();
  }

  /**
   * The library lists only days (weeks: their Mondays) with something in them; the charts and the CSV
   * show every one of the period, the empty ones as zeros.
   */
  function fillBuckets(buckets, fromDay, toDay, group) {
    const byStart = new Map(buckets.map((b) => [String(b.start), b]));
    const day = (s) => new Date(s + 'T00:00:00Z');
    const key = (d) => d.toISOString().slice(0, 10);
    let at = day(fromDay);
    if (group === 'week') at = new Date(at.getTime() - ((at.getUTCDay() + 6) % 7) * 86400000);
    const end = day(toDay);
    const out = [];
    for (let guard = 0; at <= end && guard < 500; guard++) {
      const k = key(at);
      out.push(byStart.get(k) || { start: k, new_dialogs: 0, new_dialogs_by_channel: [], messages_in: 0, messages_out: 0 });
      byStart.delete(k);
      at = new Date(at.getTime() + (group === 'week' ? 7 : 1) * 86400000);
    }
    // Whatever fell outside (another time zone's edge) is kept, in order.
    return out.concat(Array.from(byStart.values())).sort((a, b) => (String(a.start) < String(b.start) ? -1 : 1));
  }

  function stat(label, value, id) {
    return el('div', { class: 'stat', id }, el('div', { class: 'stat-value', text: value }), el('div', { class: 'stat-label', text: label }));
  }

  function canvasCard(title, id) {
    const canvas = el('canvas', { id, role: 'img', 'aria-label': title });
    return { card: el('section', { class: 'card chart-card' }, el('h3', { text: title }), el('div', { class: 'chart-box' }, canvas)), canvas };
  }

  function draw(out, r, channels, context) {
    destroyCharts();
    const tot = r.totals || {};
    const fr = tot.first_response_seconds || {};
    const ttc = tot.time_to_close_seconds || {};
    const ratings = tot.ratings || {};
    const stats = el('section', { class: 'card stats', id: 'report-totals' },
      stat(t('r_new_dialogs'), String(tot.new_dialogs || 0), 'stat-new'),
      stat(t('r_in'), String(tot.messages_in || 0), 'stat-in'),
      stat(t('r_out'), String(tot.messages_out || 0), 'stat-out'),
      stat(t('r_closed'), String(tot.closed || 0), 'stat-closed'),
      stat(t('r_unanswered'), String(tot.unanswered || 0), 'stat-unanswered'),
      stat(t('r_first_response'), duration(fr.median) + ' / ' + duration(fr.p90), 'stat-first-response'),
      stat(t('r_time_to_close'), duration(ttc.median) + ' / ' + duration(ttc.p90), 'stat-close'),
      stat(t('r_rating'), ratings.count ? '★ ' + Number(ratings.average).toFixed(2) + ' (' + ratings.count + ')' : t('r_none'), 'stat-rating'),
      el('div', { class: 'help', text: t('r_timezone', { tz: r.timezone || 'UTC' }) }));
    const dialogsChart = canvasCard(t('r_new_dialogs'), 'chart-dialogs');
    const messagesChart = canvasCard(t('r_messages'), 'chart-messages');
    const ratingsChart = canvasCard(t('r_ratings'), 'chart-ratings');
    const table = el('table', { class: 'table', id: 'report-operators' },
      el('thead', {}, el('tr', {}, [t('r_operator'), t('r_dialogs'), t('r_fr_median')].map((h) => el('th', { text: h })))),
      el('tbody', {}, (r.by_operator || []).map((o) => el('tr', {},
        el('td', { text: context.operatorName ? context.operatorName(o.operator_id) : '#' + o.operator_id }),
        el('td', { text: String(o.dialogs || 0) }),
        el('td', { text: duration(o.first_response_median_seconds) })))));
    out.replaceChildren(stats, el('div', { class: 'charts' }, dialogsChart.card, messagesChart.card, ratingsChart.card),
      el('section', { class: 'card' }, el('h3', { text: t('r_by_operator') }), el('div', { class: 'table-wrap' }, table)));

    if (typeof window.Chart !== 'function') {
      out.prepend(el('p', { class: 'error', text: t('r_no_chart') }));
      return;
    }
    const buckets = r.buckets || [];
    const labels = buckets.map((b) => String(b.start).slice(0, 10));
    const channelIds = [];
    for (const b of buckets) for (const c of b.new_dialogs_by_channel || []) if (!channelIds.includes(c.channel_id)) channelIds.push(c.channel_id);
    const perChannel = channelIds.map((id, i) => ({
      label: channels.get(id) || t('r_channel') + ' #' + id,
      data: buckets.map((b) => ((b.new_dialogs_by_channel || []).find((c) => c.channel_id === id) || { count: 0 }).count),
      backgroundColor: COLORS[i % COLORS.length],
    }));
    const common = { responsive: true, maintainAspectRatio: false, animation: false };
    charts.push(new window.Chart(dialogsChart.canvas, {
      type: 'bar',
      data: { labels, datasets: perChannel.length ? perChannel : [{ label: t('r_new_dialogs'), data: buckets.map((b) => b.new_dialogs || 0), backgroundColor: COLORS[0] }] },
      options: Object.assign({ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }, common),
    }));
    charts.push(new window.Chart(messagesChart.canvas, {
      type: 'line',
      data: { labels, datasets: [
        { label: t('r_in'), data: buckets.map((b) => b.messages_in || 0), borderColor: COLORS[0], backgroundColor: COLORS[0], tension: 0.2 },
        { label: t('r_out'), data: buckets.map((b) => b.messages_out || 0), borderColor: COLORS[2], backgroundColor: COLORS[2], tension: 0.2 },
      ] },
      options: Object.assign({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }, common),
    }));
    const dist = ratings.distribution || [];
    charts.push(new window.Chart(ratingsChart.canvas, {
      type: 'bar',
      data: { labels: dist.map((d) => '★ ' + d.rating), datasets: [{ label: t('r_ratings'), data: dist.map((d) => d.count || 0), backgroundColor: COLORS[6] }] },
      options: Object.assign({ plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }, common),
    }));
  }

  /** A CSV cell: quoted when needed; a leading =, +, - or @ is defused for spreadsheets. */
  function cell(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@]/.test(s)) s = "'" + s;
    return /[",\r\n;]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadCsv() {
    if (!last) return;
    const buckets = last.buckets || [];
    const channelIds = [];
    for (const b of buckets) for (const c of b.new_dialogs_by_channel || []) if (!channelIds.includes(c.channel_id)) channelIds.push(c.channel_id);
    const rows = [['start', 'new_dialogs', 'messages_in', 'messages_out'].concat(channelIds.map((id) => 'new_dialogs_channel_' + id))];
    for (const b of buckets) {
      rows.push([b.start, b.new_dialogs || 0, b.messages_in || 0, b.messages_out || 0]
        .concat(channelIds.map((id) => ((b.new_dialogs_by_channel || []).find((c) => c.channel_id === id) || { count: 0 }).count)));
    }
    const text = rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
    const url = URL.createObjectURL(new Blob(['\ufeff' + text], { type: 'text/csv;charset=utf-8' }));
    const a = el('a', { href: url, download: 'crmchats-report-' + (last.buckets && last.buckets.length ? String(last.buckets[0].start).slice(0, 10) : 'empty') + '.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  return { render, destroy: destroyCharts };
})();
