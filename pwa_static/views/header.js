import { useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { useApp } from '../lib/app_context.js';

export function SyncStatus() {
  const app = useApp();
  const { state, engines } = app;
  const t = state.t;
  const online = state.online.value;
  const pending = state.pendingCount.value;
  const running = state.sync.value.running;
  const error = state.sync.value.error;
  return html`<div class="sync-status" data-testid="sync-status" data-online=${String(online)}
      data-pending=${String(pending)} data-last-sync=${state.sync.value.lastSyncAt || ''} role="status" aria-live="polite">
    <span class=${`dot ${online ? 'on' : 'off'}`} aria-hidden="true"></span>
    <span class="online-word">${online ? t('online') : t('offline')}</span>
    <span class="sep" aria-hidden="true">·</span>
    <span>${pending ? t('pendingChanges', { n: pending }) : t('allSynced')}</span>
    ${state.rejections.value.length > 0 && html`<a href="#/sync" class="badge refused" data-testid="refused-count"
      data-n=${state.rejections.value.length}>${t('nav.refusedCount', { n: state.rejections.value.length })}</a>`}
    ${error && error.kind !== 'auth' && html`<span class="err-dot" title=${state.sayError(error)}>!</span>`}
    <button type="button" class="btn small" data-testid="sync-now" disabled=${running}
      onClick=${() => engines.sync.syncNow('manual')}>${running ? t('syncing') : t('syncNow')}</button>
  </div>`;
}

export function Header() {
  const app = useApp();
  const { state, actions } = app;
  const t = state.t;
  const route = state.route.value.name;
  const user = state.session.value?.user;
  const [asking, setAsking] = useState(false);
  // on a phone the tabs and actions fold behind a menu button, so the header stays one row (≤ 64 px)
  const [menu, setMenu] = useState(false);
  const officeRole = ['office', 'admin'].includes(user?.role);
  const officeHere = route === 'office' || (route === 'home' && officeRole);
  const tasks = route === 'assignments' || route === 'inspection' || (route === 'home' && !officeRole);
  return html`<header class=${`top${menu ? ' menu-open' : ''}`} onClick=${(e) => e.target.closest('a') && setMenu(false)}>
    <div class="brand"><a href="#/" class="brand-link">${t('appName')}</a>
      ${user && html`<span class="muted user">${user.displayName || user.username}</span>`}</div>
    <button type="button" class="btn small menu-toggle" data-testid="menu-toggle" aria-expanded=${String(menu)}
      aria-controls="top-more" onClick=${() => setMenu(!menu)}>☰ ${t('nav.menu')}</button>
    <div class="top-more" id="top-more">
    <nav class="tabs" aria-label=${t('appName')}>
      <a href="#/tasks" class=${tasks ? 'tab active' : 'tab'} data-testid="nav-tasks"
        aria-current=${tasks && route !== 'inspection' ? 'page' : undefined}>${t('assignments')}</a>
      ${officeRole && html`<a href="#/office" class=${officeHere ? 'tab active' : 'tab'}
        data-testid="nav-office" aria-current=${officeHere ? 'page' : undefined}>${t('office')}</a>`}
      <a href="#/sync" class=${route === 'sync' ? 'tab active' : 'tab'} data-testid="nav-sync"
        aria-current=${route === 'sync' ? 'page' : undefined}>${t('syncCentre')}</a>
    </nav>
    <div class="top-actions">
      <button type="button" class="btn small" data-testid="theme-toggle" aria-pressed=${String(state.theme.value === 'contrast')}
        onClick=${() => actions.setTheme(state.theme.value === 'contrast' ? 'default' : 'contrast')}>${t('nav.themeContrast')}</button>
      <label class="text-size"><span class="visually-hidden">${t('nav.textSize')}</span>
        <select data-testid="text-size" value=${state.textSize.value} onChange=${(e) => actions.setTextSize(e.currentTarget.value)}>
          ${['normal', 'large', 'xlarge'].map((size) => html`<option value=${size} key=${size}>${t(`nav.textSize.${size}`)}</option>`)}
        </select></label>
      <button type="button" class="btn small" data-testid="lang-toggle"
        onClick=${() => actions.setLang(state.lang.value === 'zh' ? 'en' : 'zh')}>${t('langToggle')}</button>
      <button type="button" class="btn small" data-testid="logout"
        onClick=${() => (state.pendingCount.value ? setAsking(true) : actions.logout())}>${t('logout')}</button>
    </div>
    </div>
    ${asking && html`<div class="banner warn logout-confirm" role="alertdialog" aria-labelledby="logout-unsent"
        data-testid="logout-confirm">
      <p id="logout-unsent">${t('logout_unsent', { n: state.pendingCount.value })}</p>
      <button type="button" class="btn small" data-testid="logout-keep"
        onClick=${() => { setAsking(false); actions.logout(); }}>${t('logout_keep_unsent')}</button>
      <button type="button" class="btn small" data-testid="logout-cancel"
        onClick=${() => setAsking(false)}>${t('logout_cancel')}</button>
    </div>`}
    <${SyncStatus} />
  </header>`;
}
