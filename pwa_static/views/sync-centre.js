// What is still on this device, what went wrong in plain words, and a retry.
import { html } from '../lib/html.js';
import { formatBytes, formatTime } from '../lib/format.js';
import { useState } from '../vendor/preact/hooks.js';
import { deviceModel } from '../lib/device.js';
import { useApp } from '../lib/app_context.js';

function reasonText(t, r) {
  const key = `reason_${r.reason}`;
  const text = t(key, r.params || {});
  return text === key ? t('reason_other', { reason: r.reason }) : text;
}

function errorText(t, state, error) {
  if (!error) return t('noErrors');
  if (error.kind === 'network') return t('networkError');
  if (error.kind === 'http' && error.status >= 500) return t('serverError', { status: error.status });
  if (error.kind === 'auth') return t('loginExpired', { n: '' });
  return state.sayError(error);
}

// The device's name for the office's dashboard. What is typed is kept in the form's own state: the sync centre
// re-renders while a sync runs, and a value bound to the saved name would wipe what is being typed.
function DeviceName() {
  const app = useApp();
  const { state, actions } = app;
  const t = state.t;
  const saved = state.deviceName.value;
  const [draft, setDraft] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    await actions.setDeviceName(draft ?? saved);
    setDraft(null);
  };
  return html`<form class="row" onSubmit=${save}>
    <label class="field inline"><span>${t('nav.deviceName')}</span>
      <input name="deviceName" data-testid="device-name" maxlength="100" value=${draft ?? saved} data-saved=${saved}
        placeholder=${deviceModel() || t('nav.deviceNameHint')} onInput=${(e) => setDraft(e.currentTarget.value)} /></label>
    <button type="submit" class="btn small" data-testid="device-name-save">${t('nav.deviceNameSave')}</button></form>`;
}

export function SyncCentre() {
  const app = useApp();
  const { state, engines, actions } = app;
  const t = state.t;
  const lang = state.lang.value;
  const sync = state.sync.value;
  const toSend = state.photosToSend.value;
  const bytes = toSend.reduce((sum, p) => sum + (p.size || 0) - (p.state === 'received' ? p.size || 0 : 0), 0);
  const storage = state.storage.value;
  const retryIn = sync.nextRetryAt ? Math.max(0, Math.round((sync.nextRetryAt - Date.now()) / 1000)) : null;
  const rejections = state.rejections.value;
  return html`<main class="page"><h1>${t('syncCentre')}</h1>
    <section class="card stats" data-testid="sync-centre">
      <dl class="grid">
        <div><dt>${t('queuedMutations')}</dt><dd data-testid="queued-mutations">${state.pending.value.length}</dd></div>
        <div><dt>${t('queuedPhotos')}</dt><dd data-testid="queued-photos">${toSend.filter((p) => p.state !== 'received').length}</dd></div>
        <div><dt>${t('queuedBytes')}</dt><dd data-testid="queued-bytes">${formatBytes(bytes)}</dd></div>
        <div><dt>${t('lastSync')}</dt><dd data-testid="last-sync">${formatTime(sync.lastSyncAt, lang)}</dd></div>
      </dl>
      <p><span class="label">${t('lastError')}</span>
        <span class=${sync.error ? 'error-text' : 'muted'} data-testid="last-error">${errorText(t, state, sync.error)}</span>
        ${retryIn !== null && sync.error && html` <span class="muted">(${t('nextRetry', { s: retryIn })})</span>`}</p>
      <button type="button" class="btn primary" data-testid="sync-retry" disabled=${sync.running}
        onClick=${() => engines.sync.syncNow('manual')}>${sync.running ? t('syncing') : t('retry')}</button>
    </section>
    <section class="card">
      <h2>${t('rejectedTitle')}</h2>
      ${rejections.length === 0 ? html`<p class="muted">${t('rejectedNone')}</p>` : html`
        <ul class="rejections" data-testid="rejections">${rejections.map((r) => html`<li key=${r.id} data-testid="rejection" data-reason=${r.reason}>
          <strong>${t(`mutation_${r.name}`, { item: r.args?.itemCode || '' })}</strong>：${reasonText(t, r)}</li>`)}</ul>
        <button type="button" class="btn" onClick=${() => actions.dismissRejections()}>${t('dismiss')}</button>`}
    </section>
    <section class="card">
      <h2>${t('storage')}</h2>
      <p data-testid="storage-used">${t('storageUsed', { used: formatBytes(storage.usage), quota: formatBytes(storage.quota) })}</p>
      <${DeviceName} />
      <p data-testid="thumb-cache" data-count=${state.thumbUsage.value.count} data-bytes=${state.thumbUsage.value.bytes}>
        ${t('nav.thumbCache')}：${t('nav.thumbCacheUse', { n: state.thumbUsage.value.count, used: formatBytes(state.thumbUsage.value.bytes), budget: formatBytes(state.thumbUsage.value.budget) })}</p>
      <p data-testid="storage-persisted" data-persisted=${String(storage.persisted)}>
        ${storage.persisted ? t('persisted') : t('notPersisted')}</p>
    </section>
  </main>`;
}

// Asked once on a device, after its first sign-in: what the office's dashboard calls it. A small card, not a
// dialog: the model is the default, "skip" keeps it; the sync centre edits the name later.
export function DeviceNamePrompt() {
  const app = useApp();
  const { state, actions } = app;
  const t = state.t;
  if (state.deviceNameAsked.value) return null;
  const model = deviceModel();
  return html`<form class="card device-prompt" data-testid="device-name-prompt" aria-labelledby="device-prompt-title"
    onSubmit=${(e) => { e.preventDefault(); actions.answerDeviceNamePrompt(e.currentTarget.elements.deviceName.value); }}>
    <h2 id="device-prompt-title">${t('nav.deviceNameAsk')}</h2>
    <p class="muted">${t('nav.deviceNameAskWhy')}</p>
    <div class="row">
      <label class="field inline"><span class="visually-hidden">${t('nav.deviceName')}</span>
        <input name="deviceName" data-testid="device-name-prompt-input" maxlength="100" value=${model}
          placeholder=${t('nav.deviceNameHint')} /></label>
      <button type="submit" class="btn primary small" data-testid="device-name-prompt-save">${t('nav.deviceNameSave')}</button>
      <button type="button" class="btn small ghost" data-testid="device-name-prompt-skip"
        onClick=${() => actions.answerDeviceNamePrompt(null)}>${t('nav.deviceNameSkip')}</button>
    </div></form>`;
}
