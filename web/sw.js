// SPDX-License-Identifier: Apache-2.0
// Dialtone's service worker: rings through the browser's push service when no Dialtone tab is
// open. The server sends three kinds of Web Push message (docs/protocol.md, "Push"):
//   incoming_call  → an "X is calling" notification that stays until acted on
//   call_cancelled → that notification goes (answered or declined elsewhere, cancelled, timeout)
//   missed_call    → a "Missed call" notification
// Clicking opens (or focuses) Dialtone, which picks the call up from its WebSocket resync.

const ringTag = (callId) => `call-${callId}`;

async function closeRinging(callId) {
  for (const n of await self.registration.getNotifications({ tag: ringTag(callId) })) n.close();
}

async function onMessage(msg) {
  if (!msg || typeof msg.callId !== 'string') return;
  const caller = String(msg.callerName || msg.callerId || 'Someone');
  // Notifications show text only; an icon only from an https: URL.
  const icon = typeof msg.callerPhoto === 'string' && /^https:\/\//i.test(msg.callerPhoto)
    ? msg.callerPhoto : undefined;
  switch (msg.type) {
    case 'incoming_call': {
      // A push that arrives after the ring ended says so instead of ringing.
      const late = Date.parse(msg.ringDeadline) <= Date.now();
      await self.registration.showNotification(late ? 'Missed call' : `${caller} is calling`, {
        tag: late ? `missed-${msg.callId}` : ringTag(msg.callId),
        body: late ? caller : 'Incoming voice call — open Dialtone to answer',
        icon,
        requireInteraction: !late,
        renotify: true,
        data: msg,
      });
      break;
    }
    case 'call_cancelled':
      await closeRinging(msg.callId);
      break;
    case 'missed_call':
      await closeRinging(msg.callId);
      await self.registration.showNotification('Missed call', {
        tag: `missed-${msg.callId}`, body: caller, icon, data: msg,
      });
      break;
    default:
      break;
  }
  for (const client of await self.clients.matchAll({ type: 'window' }))
    client.postMessage({ dialtonePush: msg });
}

self.addEventListener('push', (event) => {
  let msg = null;
  try { msg = event.data ? event.data.json() : null; } catch (e) { msg = null; }
  event.waitUntil(onMessage(msg));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (windows.length) return windows[0].focus();
    return self.clients.openWindow('/');
  })());
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
