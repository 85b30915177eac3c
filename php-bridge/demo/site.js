// Demo only: embeds the widget for the channel named in ?channel=N, as the snippet would.
(function () {
  'use strict';
  var channel = new URLSearchParams(location.search).get('channel') || '1';
  if (!/^\d+$/.test(channel)) return;
  var script = document.createElement('script');
  script.src = '../widget/widget.js';
  script.async = true;
  script.setAttribute('data-crmchats-channel', channel);
  script.setAttribute('data-crmchats-endpoint', new URL('../widget.php', location.href).href);
  document.getElementById('snippet').textContent = script.outerHTML;
  document.body.appendChild(script);
})();
