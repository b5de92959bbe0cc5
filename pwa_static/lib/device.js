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
