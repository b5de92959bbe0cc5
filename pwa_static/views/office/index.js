// The review office's screens (desktop first), loaded on demand for office and admin roles.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { Applications } from './applications.js';
import { Conflicts } from './conflicts.js';
import { Dashboard } from './dashboard.js';
import { Evidence } from './evidence.js';
import { Improvement } from './improvement.js';
import { Lists } from './lists.js';
import { Logistics } from './logistics.js';
import { Thresholds } from './thresholds.js';
import { Exports } from './exports.js';
import { offlineCopies, useApi } from './data.js';
import { formatTime } from '../../lib/format.js';
import { Rankings } from './rankings.js';
import { Reconcile } from './reconcile.js';
import { Resolvers } from './resolvers.js';
import { Report } from './report.js';
import { Stages } from './stages.js';
import { Titles } from './titles.js';
import { useApp } from '../../lib/app_context.js';

const TABS = ['dashboard', 'stages', 'applications', 'titles', 'logistics', 'reconcile', 'conflicts', 'resolvers', 'evidence', 'rankings', 'improvement', 'lists', 'thresholds', 'exports'];

// Offline (or the server out of reach): which data this screen shows and as of when, or that it has none,
// and what cannot be done until the connection is back. The screens reload by themselves when it is.
function OfflineNote({ screen }) {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const copies = offlineCopies.value;
  if (state.online.value && !copies.size) return null;
  const times = [...copies.values()];
  const shown = times.filter((at) => at !== null);
  const partly = shown.length > 0 && shown.length < times.length;
  return html`<div class="banner warn stack" role="status" data-testid="office-offline" data-copy=${String(shown.length > 0)}>
    <strong>${t('officeOffline_title')}</strong>
    <p>${shown.length ? t('officeOffline_shown', { screen, time: formatTime(Math.min(...shown), state.lang.value) }) : t('officeOffline_nothing', { screen })}</p>
    ${partly && html`<p>${t('officeOffline_partly')}</p>`}
    <p>${t('officeOffline_cannot')}</p>
  </div>`;
}

export function Office({ route }) {
  const app = useApp();
  const t = app.state.t;
  const rounds = useApi('/api/rounds', [], { note: false });
  const [roundId, setRoundId] = useState(localStorage.getItem('fieldcheck.round') || null);
  useEffect(() => {
    const list = rounds.data || [];
    // from the state as it is when the effect runs, not this render's: a round chosen between the list's
    // render and this effect (effects run after paint) is kept, not replaced by the default
    if (list.length) setRoundId((current) => (list.some((r) => r.id === current) ? current : list[list.length - 1].id));
  }, [rounds.data]);
  const choose = (id) => {
    localStorage.setItem('fieldcheck.round', id);
    setRoundId(id);
  };
  // #/office/report/<facilityId>[/<roundId>]: the printable report (of the chosen round by default)
  if (route.tab === 'report' && route.id) {
    const reportRound = route.sub || roundId;
    return html`<main class="page office report-main" data-testid="office">
      <${OfflineNote} screen=${t('office_report')} />
      ${reportRound ? html`<${Report} key=${route.id + reportRound} facilityId=${route.id} roundId=${reportRound} />`
        : html`<p class="muted">${t('loading')}</p>`}
    </main>`;
  }
  const tab = TABS.includes(route.tab) ? route.tab : 'dashboard';
  let body = null;
  if (roundId) {
    const props = { roundId, route };
    body = {
      dashboard: html`<${Dashboard} ...${props} />`,
      stages: html`<${Stages} ...${props} />`,
      applications: html`<${Applications} ...${props} />`,
      titles: html`<${Titles} ...${props} />`,
      logistics: html`<${Logistics} ...${props} />`,
      reconcile: html`<${Reconcile} ...${props} />`,
      conflicts: html`<${Conflicts} ...${props} />`,
      resolvers: html`<${Resolvers} ...${props} />`,
      rankings: html`<${Rankings} ...${props} />`,
      evidence: html`<${Evidence} ...${props} />`,
      improvement: html`<${Improvement} ...${props} />`,
      lists: html`<${Lists} ...${props} />`,
      thresholds: html`<${Thresholds} ...${props} />`,
      exports: html`<${Exports} ...${props} />`,
    }[tab];
  }
  return html`<main class="page office" data-testid="office">
    <div class="office-head">
      <h1>${t('office')}</h1>
      <label class="field inline"><span>${t('round')}</span>
        <select data-testid="round-select" value=${roundId || ''} onChange=${(e) => choose(e.currentTarget.value)}>
          ${(rounds.data || []).map((r) => html`<option value=${r.id} key=${r.id}>${r.name}</option>`)}
        </select></label>
    </div>
    <nav class="subtabs" aria-label=${t('office')}>
      ${TABS.map((name) => html`<a key=${name} href=${`#/office/${name}`} data-testid=${`office-tab-${name}`}
        class=${name === tab ? 'tab active' : 'tab'} aria-current=${name === tab ? 'page' : undefined}>${t(`office_${name}`)}</a>`)}
    </nav>
    <${OfflineNote} screen=${t(`office_${tab}`)} />
    ${rounds.error && html`<p class="banner error" role="alert">${app.state.sayError(rounds.error)}</p>`}
    ${body}
  </main>`;
}
