// SPDX-License-Identifier: Apache-2.0
// Background ringing: the service worker (/sw.js) shows incoming calls through the browser's
// push service when no Dialtone tab is open. The subscription is per browser, so it is
// registered under a device id kept in localStorage (tabs have their own ids for calls).

const PUSH_DEVICE_KEY = 'dialtone.pushDeviceId';

export function pushDeviceId() {
  let id = localStorage.getItem(PUSH_DEVICE_KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = `web-push-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(PUSH_DEVICE_KEY, id);
  }
  return id;
}

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

// Registers the worker (it also shows pushes delivered while this page is open).
export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return null;
  return navigator.serviceWorker.register('/sw.js');
}

// 'on', 'off' (not asked or not subscribed), 'blocked' or 'unsupported'.
export async function pushState() {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = reg && await reg.pushManager.getSubscription();
  return sub && Notification.permission === 'granted' ? 'on' : 'off';
}

// Asks for permission, subscribes with the server's VAPID key and registers the subscription.
// Throws an Error whose message says what the user can do.
export async function enablePush(api, vapidPublicKey) {
  if (!pushSupported()) throw new Error('This browser cannot ring in the background.');
  if (!vapidPublicKey) throw new Error('This server does not offer background ringing.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error('Notifications are blocked for this site: allow them in the browser settings.');
  }
  const reg = await registerWorker();
  await navigator.serviceWorker.ready;
  let sub;
  try {
    sub = await reg.pushManager.getSubscription() || await Promise.race([
      reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: vapidPublicKey }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 20 s')), 20000)),
    ]);
  } catch (e) {
    throw new Error(`The browser's push service refused: ${e.message}`);
  }
  await api.post('/v1/devices', { deviceId: pushDeviceId(), platform: 'webpush', subscription: sub.toJSON() });
}

// On sign-in: if this browser already subscribed, make sure the server still has it (it forgets
// subscriptions their push service declared gone).
export async function refreshPush(api) {
  if ((await pushState()) !== 'on') return false;
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg.pushManager.getSubscription();
  await api.post('/v1/devices', { deviceId: pushDeviceId(), platform: 'webpush', subscription: sub.toJSON() });
  return true;
}

// On sign-out: this browser must not ring for the next person's calls.
export async function disablePush(api) {
  try { await api.request('DELETE', `/v1/devices/${encodeURIComponent(pushDeviceId())}`); } catch (e) { /* gone */ }
  const reg = pushSupported() && await navigator.serviceWorker.getRegistration('/');
  const sub = reg && await reg.pushManager.getSubscription();
  if (sub) await sub.unsubscribe().catch(() => {});
}
