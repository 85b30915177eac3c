/*
 * crmchats: the chat button on every CRM page. Polls unread.php, shows the count on the button and
 * on the favicon, plays a short sound and shows a browser notification when a new visitor message
 * arrives, and opens the operator console in a side panel.
 */
(function () {
  'use strict';
  var panel = document.getElementById('crmchats-panel');
  if (!panel) { return; }
  var button = panel.querySelector('.crmchats-button');
  var badge = panel.querySelector('.crmchats-badge');
  var frame = panel.querySelector('.crmchats-frame');
  var iframe = frame.querySelector('iframe');
  var unreadUrl = panel.getAttribute('data-unread-url');
  var lastUnread = null;
  var baseTitle = document.title;
  var favicon = null;
  var faviconImage = null;

  function findFavicon() {
    favicon = document.querySelector('link[rel~="icon"]');
    if (!favicon) {
      favicon = document.createElement('link');
      favicon.rel = 'icon';
      favicon.href = '/favicon.ico';
      document.head.appendChild(favicon);
    }
    faviconImage = new Image();
    faviconImage.src = favicon.href;
    favicon.setAttribute('data-crmchats-original', favicon.href);
  }

  function drawFavicon(count) {
    if (!favicon) { findFavicon(); }
    var original = favicon.getAttribute('data-crmchats-original');
    if (!count) { favicon.href = original; return; }
    var canvas = document.createElement('canvas');
    canvas.width = canvas.height = 32;
    var ctx = canvas.getContext('2d');
    try { if (faviconImage.complete && faviconImage.naturalWidth) { ctx.drawImage(faviconImage, 0, 0, 32, 32); } } catch (e) { /* a foreign icon */ }
    ctx.fillStyle = '#E53935';
    ctx.fillRect(12, 0, 20, 18);
    ctx.fillStyle = '#fff';
    ctx.font = 'bold 14px sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText(count > 99 ? '99' : String(count), 22, 14);
    try { favicon.href = canvas.toDataURL('image/png'); } catch (e) { favicon.href = original; }
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.4);
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* sound is a nicety */ }
  }

  function notify(latest) {
    if (!('Notification' in window) || !latest) { return; }
    var show = function () {
      var n = new Notification(latest.name || 'Новое сообщение', { body: latest.text || '', tag: 'crmchats-' + latest.dialog_id });
      n.onclick = function () { window.focus(); open(latest.dialog_id); n.close(); };
    };
    if (Notification.permission === 'granted') { show(); }
    else if (Notification.permission === 'default') { Notification.requestPermission().then(function (p) { if (p === 'granted') { show(); } }); }
  }

  function render(data) {
    var count = data.unread || 0;
    // CRM users who do not answer chats see the button only while someone invited them into a dialog.
    panel.hidden = !data.operator && count === 0;
    badge.textContent = count > 99 ? '99+' : String(count);
    badge.hidden = count === 0;
    document.title = count ? '(' + count + ') ' + baseTitle : baseTitle;
    drawFavicon(count);
    if (lastUnread !== null && count > lastUnread) { beep(); notify(data.latest); }
    lastUnread = count;
  }

  function poll() {
    fetch(unreadUrl, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && typeof data.unread === 'number') { render(data); } })
      .catch(function () { /* next time */ })
      .then(function () { setTimeout(poll, document.hidden ? 60000 : 15000); });
  }

  function open(dialogId) {
    var src = iframe.getAttribute('data-src') + (dialogId ? '?dialog=' + encodeURIComponent(dialogId) : '');
    if (iframe.getAttribute('src') !== src) { iframe.setAttribute('src', src); }
    frame.hidden = false;
  }

  button.addEventListener('click', function () { if (frame.hidden) { open(null); } else { frame.hidden = true; } });
  panel.querySelector('.crmchats-close').addEventListener('click', function () { frame.hidden = true; });
  poll();
})();
