// Demo only: embeds the widget for the channel named in ?channel=N, as the snippet would.
// ?crm=URL (the php-bridge folder's URL) loads it from another origin, as on a real company site.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var channel = params.get('channel') || '1';
  if (!/^\d+$/.test(channel)) return;
  var base = new URL(params.get('crm') || '..', location.href);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return;
  if (!/\/$/.test(base.pathname)) base.pathname += '/';
  var script = document.createElement('script');
  script.src = new URL('widget/widget.js', base).href;
  script.async = true;
  script.setAttribute('data-crmchats-channel', channel);
  script.setAttribute('data-crmchats-endpoint', new URL('widget.php', base).href);
  document.getElementById('snippet').textContent = script.outerHTML;
  document.body.appendChild(script);
})();
