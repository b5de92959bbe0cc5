import { useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';

export function SyncStatus({ app }) {
  const { state, engines } = app;
  const t = state.t;
  const online = state.online.value;
  const pending = state.pendingCount.value;
  const running = state.sync.value.running;
  const error = state.sync.value.error;
  return html`<div class="sync-status" data-testid="sync-status" data-online=${String(online)}
      data-pending=${String(pending)} role="status" aria-live="polite">
    <span class=${`dot ${online ? 'on' : 'off'}`} aria-hidden="true"></span>
    <span>${online ? t('online') : t('offline')}</span>
    <span class="sep" aria-hidden="true">·</span>
    <span>${pending ? t('pendingChanges', { n: pending }) : t('allSynced')}</span>
    ${error && error.kind !== 'auth' && html`<span class="err-dot" title=${state.sayError(error)}>!</span>`}
    <button type="button" class="btn small" data-testid="sync-now" disabled=${running}
      onClick=${() => engines.sync.syncNow('manual')}>${running ? t('syncing') : t('syncNow')}</button>
  </div>`;
}

export function Header({ app }) {
  const { state, actions } = app;
  const t = state.t;
  const route = state.route.value.name;
  const user = state.session.value?.user;
  const [asking, setAsking] = useState(false);
  return html`<header class="top">
    <div class="brand"><a href="#/" class="brand-link">${t('appName')}</a>
      ${user && html`<span class="muted user">${user.displayName || user.username}</span>`}</div>
    <nav class="tabs" aria-label=${t('appName')}>
      <a href="#/" class=${route === 'assignments' || route === 'inspection' ? 'tab active' : 'tab'}
        aria-current=${route === 'assignments' ? 'page' : undefined}>${t('assignments')}</a>
      ${['office', 'admin'].includes(user?.role) && html`<a href="#/office" class=${route === 'office' ? 'tab active' : 'tab'}
        data-testid="nav-office" aria-current=${route === 'office' ? 'page' : undefined}>${t('office')}</a>`}
      <a href="#/sync" class=${route === 'sync' ? 'tab active' : 'tab'} data-testid="nav-sync"
        aria-current=${route === 'sync' ? 'page' : undefined}>${t('syncCentre')}</a>
    </nav>
    <${SyncStatus} app=${app} />
    <div class="top-actions">
      <button type="button" class="btn small" data-testid="lang-toggle"
        onClick=${() => actions.setLang(state.lang.value === 'zh' ? 'en' : 'zh')}>${t('langToggle')}</button>
      <button type="button" class="btn small" data-testid="logout"
        onClick=${() => (state.pendingCount.value ? setAsking(true) : actions.logout())}>${t('logout')}</button>
    </div>
    ${asking && html`<div class="banner warn logout-confirm" role="alertdialog" aria-labelledby="logout-unsent"
        data-testid="logout-confirm">
      <p id="logout-unsent">${t('logout_unsent', { n: state.pendingCount.value })}</p>
      <button type="button" class="btn small" data-testid="logout-keep"
        onClick=${() => { setAsking(false); actions.logout(); }}>${t('logout_keep_unsent')}</button>
      <button type="button" class="btn small" data-testid="logout-cancel"
        onClick=${() => setAsking(false)}>${t('logout_cancel')}</button>
    </div>`}
  </header>`;
}
