import { useEffect, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { Assignments } from './assignments.js';
import { Header } from './header.js';
import { Inspection } from './inspection.js';
import { Login } from './login.js';
import { Plan } from './plan.js';
import { DeviceNamePrompt, SyncCentre } from './sync-centre.js';
import { useApp } from '../lib/app_context.js';
import { loadOnDemandTexts } from '../lib/vocabulary.js';

function Banners() {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const update = state.update.value;
  const notice = state.notice.value;
  return html`<div class="banners">
    ${update.offlineReady && html`<div class="banner ok" role="status" data-testid="offline-ready">${t('readyOffline')}</div>`}
    ${!state.online.value && html`<div class="banner warn" role="status" data-testid="offline-banner">${t('offline')} · ${t('networkError')}</div>`}
    ${notice && html`<div class="banner error" role="alert">${notice}</div>`}
  </div>`;
}

// A new version: a toast fixed at the bottom of the viewport, so it is seen however deep the page is scrolled.
// "Later" folds it into a small button in the corner (never covering the submit button for good); a spacer
// at the end of the page lets the last content scroll above the toast.
function UpdateToast() {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const update = state.update.value;
  const [later, setLater] = useState(false);
  if (!update.ready) return null;
  const compact = later && !update.applying;
  return html`<div class="toast-spacer" aria-hidden="true"></div>
    <div class=${`toast${compact ? ' compact' : ''}`} role="status" data-testid="update-ready" data-compact=${String(compact)}>
      ${!compact && html`<span>${update.applying ? t('updatePausing') : t('updateReady')}</span>`}
      <button type="button" class="btn primary small" data-testid="update-apply" disabled=${update.applying}
        title=${t('updateReady')} onClick=${() => app.applyUpdate()}>${compact ? `↻ ${t('updateNow')}` : t('updateNow')}</button>
      ${!compact && !update.applying && html`<button type="button" class="btn small ghost" data-testid="update-later"
        onClick=${() => setLater(true)}>${t('updateLater')}</button>`}
    </div>`;
}

// Screens read online only load on demand with their texts: the office's (office and admin roles) and the
// clinic's result. They are not precached; the service worker keeps each once loaded, so a screen opened online
// once opens offline too (docs/app.md). Never opened and offline: said so, and tried again when back online.
const officeScreens = () => import('./office/index.js');
const resultScreen = () => import('./result.js');

function OnDemand({ load, name, props }) {
  const app = useApp();
  const { state } = app;
  const online = state.online.value;
  const [mod, setMod] = useState(null);
  const [error, setError] = useState(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (mod || (error && !online)) return undefined;
    let live = true;
    let retry = null;
    Promise.all([load(), loadOnDemandTexts()]).then(
      ([m]) => live && (setMod(m), setError(null)),
      (err) => {
        if (!live) return;
        setError(err);
        // the connection may come back a moment after the browser says so: tried again a few times
        if (attempt < 5) retry = setTimeout(() => setAttempt(attempt + 1), 1000 * 2 ** attempt);
      },
    );
    return () => {
      live = false;
      clearTimeout(retry);
    };
  }, [load, online, attempt]);
  if (error && !mod) {
    const message = online ? state.sayError(error) : state.t('screenNotOnDevice');
    return html`<main class="page"><p class="banner error" role="alert" data-testid="screen-not-loaded">${message}</p></main>`;
  }
  if (!mod) return html`<main class="page"><p class="muted">${state.t('loading')}</p></main>`;
  return html`<${mod[name]} ...${props} />`;
}

export function Root() {
  const app = useApp();
  const { state } = app;
  const session = state.session.value;
  if (!session || state.authExpired.value) return html`<${Login} />`;
  const route = state.route.value;
  let page;
  if (route.name === 'inspection') page = html`<${Inspection} key=${route.id} id=${route.id} />`;
  else if (route.name === 'sync') page = html`<${SyncCentre} />`;
  else if (route.name === 'plan') page = html`<${Plan} key=${route.id} id=${route.id} />`;
  else if (route.name === 'result') page = html`<${OnDemand} key=${route.id} load=${resultScreen} name="Result" props=${{ roundId: route.id }} />`;
  else if (route.name === 'office' && ['office', 'admin'].includes(session.user?.role)) page = html`<${OnDemand} key="office" load=${officeScreens} name="Office" props=${{ route }} />`;
  // office and admin start on the office's screens; their 我的任务 tab stays one tap away
  else if (route.name === 'home' && ['office', 'admin'].includes(session.user?.role)) page = html`<${OnDemand} key="office" load=${officeScreens} name="Office" props=${{ route: { name: 'office', tab: 'dashboard' } }} />`;
  else page = html`<${Assignments} />`;
  return html`<${Header} /><${Banners} /><${DeviceNamePrompt} />${page}<${UpdateToast} />`;
}
