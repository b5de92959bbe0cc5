// What this device is called on the office's dashboard: a name given on it (sync centre), else its model
// as the browser tells it (an Android build's model, iPad, iPhone, or the system).

export function deviceModel(ua = navigator.userAgent) {
  const android = /Android[^;)]*;\s*([^;)]+?)\s+Build\//.exec(ua) || /Android[^;)]*;\s*([^;)]+?)\)/.exec(ua);
  if (android && android[1] && android[1] !== 'K') return android[1].trim();
  if (/iPad/.test(ua)) return 'iPad';
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/Android/.test(ua)) return 'Android';
  if (/Windows/.test(ua)) return 'Windows';
  if (/Mac OS X/.test(ua)) return 'Mac';
  if (/Linux/.test(ua)) return 'Linux';
  return '';
}

export const DEVICE_NAME_MAX = 100;

// The name given here and whether the first start's prompt was answered are this device's settings, kept in
// localStorage beside its theme and text size: written at once. In IndexedDB's `meta` the write queued behind
// a sync's transaction (the first pull holds `meta` while it applies a page), and a page closed meanwhile lost
// the answer: the prompt came back at the next start.
const NAME_KEY = 'fieldcheck.deviceName';
const ASKED_KEY = 'fieldcheck.deviceNameAsked';

export function givenDeviceName() {
  return localStorage.getItem(NAME_KEY) || '';
}

export function deviceNameAsked() {
  return localStorage.getItem(ASKED_KEY) === '1';
}

export function saveDeviceName(name) {
  if (name) localStorage.setItem(NAME_KEY, name);
  else localStorage.removeItem(NAME_KEY);
}

export function markDeviceNameAsked() {
  localStorage.setItem(ASKED_KEY, '1');
}
