// Stages and experts: the round's stage calendar (what is due and overdue), the programme's targets, late
// applications let in by the office, and the review teams with the seeded draw from the expert pool.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

const STATE_CLASS = { overdue: 'badge overdue-badge', due_soon: 'badge flag', closed: 'badge status-accepted', open: 'badge stage', not_set: 'badge' };

function formatDate(iso, lang) {
  if (!iso) return '—';
  const [y, m, d] = iso.split('-').map(Number);
  return lang === 'en' ? new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })
    : `${y}年${m}月${d}日`;
}

// a programme's minimum title (a level word of the standard's data) in the reader's language
const LEVEL_WORDS = { 初级: 'junior', 中级: 'intermediate', 副高级: 'deputy_senior', 副高: 'deputy_senior', 正高级: 'senior', 正高: 'senior' };
const levelName = (t, word) => (word ? (LEVEL_WORDS[word] ? t(`stages_level_${LEVEL_WORDS[word]}`) : word) : '—');

const percent = (share) => (share == null ? '—' : `${Math.round(share * 1000) / 10}%`);

function Calendar({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const cal = useApi(`/api/rounds/${roundId}/calendar`);
  const [editing, setEditing] = useState(null);
  const [error, setError] = useState(null);
  async function save(body) {
    setError(null);
    try {
      await app.api.put(`/api/rounds/${roundId}/calendar`, body);
      setEditing(null);
      cal.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  if (cal.error) return html`<section class="card"><p class="banner error" role="alert">${app.state.sayError(cal.error)}</p></section>`;
  const data = cal.data;
  if (!data) return html`<section class="card"><p class="muted">${t('loading')}</p></section>`;
  return html`<section class="card" data-testid="stage-calendar" data-set=${String(data.set)}><h2>${t('stages_calendar')}</h2>
    <p class="muted">${t('stages_calendar_help')}</p>
    ${data.set ? html`<p class="muted" data-testid="calendar-set-by">${t('stages_set_by', { name: data.setByName || '—', time: formatTime(data.setAt, lang) })}</p>`
      : html`<p class="banner warn">${t('stages_not_set', { year: data.year })}</p>`}
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
    <table class="table"><thead><tr><th scope="col">${t('stage')}</th><th scope="col">${t('stages_deadline')}</th><th scope="col">${t('stages_source')}</th>
      <th scope="col">${t('stages_state')}</th><th scope="col">${t('stages_progress')}</th><th scope="col">${t('stages_pending')}</th></tr></thead>
    <tbody>${data.stages.map((s) => html`<tr key=${s.stage} data-testid="calendar-stage" data-stage=${s.stage} data-state=${s.state}>
      <th scope="row">${t(`stages_stage_${s.stage}`)}</th>
      <td>${editing ? html`<input type="date" data-testid=${`deadline-${s.stage}`} value=${editing[s.stage] || ''}
          onInput=${(e) => setEditing({ ...editing, [s.stage]: e.currentTarget.value })} />` : formatDate(s.dueOn, lang)}</td>
      <td class="muted">${t(`stages_source_${s.source}`)}</td>
      <td><span class=${STATE_CLASS[s.state] || 'badge'}>${t(`stages_state_${s.state}`)}</span></td>
      <td>${s.stage === 'application' ? html`${t('stages_applications_filed', { n: s.done })}${s.late ? html`<br /><small class="muted">${t('stages_late_count', { n: s.late })}</small>` : ''}`
        : html`${t('stages_done_of', s)}${s.awaitingSample ? html`<br /><small class="muted">${t('stages_awaiting_sample', { n: s.awaitingSample })}</small>` : ''}`}</td>
      <td data-testid="calendar-pending">${s.pendingFacilities.length ? s.pendingFacilities.map((f) => `${f.name}（${f.countyName}）`).join('、') : '—'}</td></tr>`)}</tbody></table>
    <div class="row">
      ${!data.set && !editing && data.programme.length > 0 && html`<button type="button" class="btn primary" data-testid="calendar-adopt"
        onClick=${() => save({ fromProgramme: true })}>${t('stages_adopt_programme')}</button>`}
      ${editing ? html`<button type="button" class="btn primary" data-testid="calendar-save"
          onClick=${() => save({ deadlines: Object.fromEntries(Object.entries(editing).filter(([, v]) => v)) })}>${t('stages_save_dates')}</button>`
        : html`<button type="button" class="btn" data-testid="calendar-edit"
          onClick=${() => setEditing(Object.fromEntries(data.stages.map((s) => [s.stage, s.dueOn || ''])))}>${t('stages_edit_dates')}</button>`}
    </div>
  </section>`;
}

function Targets({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const targets = useApi(`/api/rounds/${roundId}/targets`);
  if (targets.error) return html`<section class="card"><p class="banner error" role="alert">${app.state.sayError(targets.error)}</p></section>`;
  if (!targets.data) return html`<section class="card"><p class="muted">${t('loading')}</p></section>`;
  return html`<section class="card" data-testid="targets"><h2>${t('stages_targets')}</h2>
    <p class="muted">${t('stages_targets_help')}</p>
    <div class="grid2">${targets.data.targets.map((g) => {
      const kinds = g.facilityKinds.map((k) => t(`stages_kind_${k}`)).join('、');
      const title = g.measure === 'applying' ? t('stages_target_applying', { kinds, share: percent(g.minShare) })
        : t('stages_target_reaching', { kinds, tier: t(`tier_${g.tier}`), share: percent(g.minShare) });
      return html`<article key=${g.standardId + g.measure + (g.tier || '')} data-testid="target" data-measure=${g.measure} data-met=${String(g.met)}>
        <h3>${title}</h3>
        <p><span class=${g.met ? 'badge status-accepted' : 'badge overdue-badge'}>${g.met ? t('stages_target_met') : t('stages_target_not_met')}</span>
          ${' '}${t('stages_target_overall', { count: g.count, total: g.total, share: percent(g.share) })}
          ${g.countiesBelow > 0 && html` · <span class="warn-text">${t('stages_counties_below', { n: g.countiesBelow })}</span>`}</p>
        ${g.source && html`<p class="muted"><small>${g.source}</small></p>`}
        <table class="table"><thead><tr><th scope="col">${t('county')}</th><th scope="col">${t('stages_total')}</th><th scope="col">${t('stages_count')}</th>
          <th scope="col">${t('stages_share')}</th><th scope="col">${t('stages_state')}</th></tr></thead>
        <tbody>${g.counties.map((c) => html`<tr key=${c.countyId}><td>${c.countyName}</td><td>${c.total}</td><td>${c.count}</td><td>${percent(c.share)}</td>
          <td class=${c.met ? 'ok-text' : 'warn-text'}>${c.met ? t('stages_target_met') : t('stages_target_not_met')}</td></tr>`)}</tbody></table>
      </article>`;
    })}</div>
  </section>`;
}

function LateApplications({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const late = useApi(`/api/rounds/${roundId}/late-applications`);
  const facilities = useApi('/api/facilities');
  const [facilityId, setFacilityId] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  async function grant(e) {
    e.preventDefault();
    setError(null);
    try {
      await app.api.post(`/api/rounds/${roundId}/late-applications`, { facilityId, reason: reason.trim() });
      setReason('');
      late.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section class="card" data-testid="late-applications"><h2>${t('stages_late')}</h2>
    <p class="muted">${t('stages_late_help')}</p>
    <form class="return-form" onSubmit=${grant}>
      <label class="field inline"><span>${t('facility')}</span>
        <select data-testid="late-facility" value=${facilityId} onChange=${(e) => setFacilityId(e.currentTarget.value)} required>
          <option value="">—</option>
          ${(facilities.data || []).map((f) => html`<option key=${f.id} value=${f.id}>${f.name}</option>`)}
        </select></label>
      <label class="field"><span>${t('stages_late_reason')}</span>
        <textarea data-testid="late-reason" rows="2" required value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea></label>
      <button type="submit" class="btn primary" data-testid="late-grant" disabled=${!facilityId || !reason.trim()}>${t('stages_late_grant')}</button>
    </form>
    ${error && html`<p class="banner error" role="alert" data-testid="late-error">${error}</p>`}
    ${late.data && (late.data.length ? html`<table class="table"><thead><tr><th scope="col">${t('facility')}</th><th scope="col">${t('stages_late_reason')}</th>
        <th scope="col">${t('stages_granted_by')}</th><th scope="col">${t('status')}</th></tr></thead>
      <tbody>${late.data.map((x) => html`<tr key=${x.id} data-testid="late-application" data-facility-id=${x.facilityId}>
        <td>${x.facilityName}</td><td>${x.reason}</td><td class="muted">${x.grantedByName} · ${formatTime(x.grantedAt, lang)}</td>
        <td>${x.applied ? t('stages_late_applied') : t('stages_late_not_applied')}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">${t('stages_none')}</p>`)}
  </section>`;
}

function TeamRow({ row, onDrawn }) {
  const app = useApp();
  const t = app.state.t;
  const [seed, setSeed] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const open = !['submitted', 'returned', 'accepted'].includes(row.status);
  async function draw() {
    setError(null);
    setBusy(true);
    try {
      await app.api.post(`/api/inspections/${row.inspectionId}/team-draws`, seed.trim() ? { seed: seed.trim() } : {});
      onDrawn();
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(false);
    }
  }
  const d = row.lastDraw;
  return html`<tr data-testid="review-team" data-inspection-id=${row.inspectionId} data-review-mode=${row.reviewMode}>
    <td>${row.facilityName}</td>
    <td><span class="badge stage">${t(`stage_${row.stage}`)}</span></td>
    <td data-testid="review-mode">${t(`stages_mode_${row.reviewMode}`)}</td>
    <td>${t(`status_${row.status}`)}</td>
    <td data-testid="team-members">${row.team.length ? row.team.map((m, i) => html`<span key=${m.userId} class="team-member">${i > 0 ? '、' : ''}
        ${m.isLead && html`<span class="badge lead">${t('stages_lead')}</span> `}${m.displayName || m.username}<small class="muted">（${m.title || '—'}）</small></span>`)
      : html`<span class="muted">${t('stages_no_team')}</span>`}
      ${d && html`<p class="muted" data-testid="last-draw" data-seed=${d.seed} data-reproduced=${String(d.reproduced)}><small>
        ${t('stages_last_draw', { seed: d.seed, pool: d.poolSize, size: d.size })} ·
        <span class=${d.reproduced ? 'ok-text' : 'warn-text'}>${d.reproduced ? `✓ ${t('stages_reproduced')}` : t('stages_not_reproduced')}</span>
        ${!row.teamIsDrawn && html`<br /><span class="warn-text" data-testid="team-changed">${t('stages_team_changed')}</span>`}
        ${d.excluded.length > 0 && html`<br />${t('stages_excluded')} ${d.excluded.map((e) => `${e.displayName || e.username}（${t(`stages_reason_${e.reason}`)}）`).join('、')}`}</small></p>`}</td>
    <td class="actions">${open && html`<input class="seed-input" aria-label=${t('seed')} data-testid="draw-seed" value=${seed}
        placeholder=${t('stages_seed_auto')} onInput=${(e) => setSeed(e.currentTarget.value)} />
      <button type="button" class="btn primary" data-testid="draw-team" disabled=${busy} onClick=${draw}>${t('stages_draw')}</button>`}
      ${error && html`<p class="banner error" role="alert" data-testid="draw-error">${error}</p>`}</td>
  </tr>`;
}

function Teams({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const teams = useApi(`/api/rounds/${roundId}/teams`);
  if (teams.error) return html`<section class="card"><p class="banner error" role="alert">${app.state.sayError(teams.error)}</p></section>`;
  return html`<section class="card" data-testid="review-teams"><h2>${t('stages_teams')}</h2>
    <p class="muted">${t('stages_teams_help', { minTitle: levelName(t, teams.data?.find((r) => r.minTitle)?.minTitle) })}</p>
    ${!teams.data ? html`<p class="muted">${t('loading')}</p>` : teams.data.length === 0 ? html`<p class="muted">${t('stages_none')}</p>`
      : html`<table class="table"><thead><tr><th scope="col">${t('facility')}</th><th scope="col">${t('stage')}</th><th scope="col">${t('stages_mode')}</th>
        <th scope="col">${t('status')}</th><th scope="col">${t('stages_team')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${teams.data.map((row) => html`<${TeamRow} key=${row.inspectionId} row=${row} onDrawn=${teams.reload} />`)}</tbody></table>`}
  </section>`;
}

// On the dashboard (看板): stages overdue or due soon, and targets not met, with a link to 阶段与专家.
export function StageSummary({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const cal = useApi(`/api/rounds/${roundId}/calendar`);
  const targets = useApi(`/api/rounds/${roundId}/targets`);
  if (!cal.data || !targets.data) return null;
  const pressing = cal.data.stages.filter((s) => s.state === 'overdue' || s.state === 'due_soon');
  return html`<section class="card" data-testid="stage-summary"><h2>${t('stages_calendar')} · ${t('stages_targets')}</h2>
    ${!cal.data.set && html`<p class="muted">${t('stages_not_set', { year: cal.data.year })}</p>`}
    <table class="table"><tbody>
      ${pressing.map((s) => html`<tr key=${s.stage} data-testid="stage-due" data-stage=${s.stage} data-state=${s.state}>
        <td><span class=${STATE_CLASS[s.state]}>${t(`stages_state_${s.state}`)}</span></td><td>${t(`stages_stage_${s.stage}`)} · ${t('stages_deadline')} ${formatDate(s.dueOn, lang)} ·
        ${s.stage === 'application' ? t('stages_applications_filed', { n: s.done }) : t('stages_done_of', s)}
        ${s.awaitingSample ? ` · ${t('stages_awaiting_sample', { n: s.awaitingSample })}` : ''}</td></tr>`)}
      ${targets.data.targets.map((g) => {
        const kinds = g.facilityKinds.map((k) => t(`stages_kind_${k}`)).join('、');
        const title = g.measure === 'applying' ? t('stages_target_applying', { kinds, share: percent(g.minShare) })
          : t('stages_target_reaching', { kinds, tier: t(`tier_${g.tier}`), share: percent(g.minShare) });
        return html`<tr key=${g.standardId + g.measure} data-testid="target-summary" data-met=${String(g.met)}>
          <td><span class=${g.met ? 'badge status-accepted' : 'badge overdue-badge'}>${g.met ? t('stages_target_met') : t('stages_target_not_met')}</span></td>
          <td>${title} · ${t('stages_target_overall', { count: g.count, total: g.total, share: percent(g.share) })}${g.countiesBelow > 0 ? ` · ${t('stages_counties_below', { n: g.countiesBelow })}` : ''}</td></tr>`;
      })}
    </tbody></table>
    <a class="btn link" href="#/office/stages" data-testid="open-stages">${t('office_stages')} →</a>
  </section>`;
}

export function Stages({ roundId }) {
  return html`<section data-testid="stages">
    <${Calendar} roundId=${roundId} />
    <${Targets} roundId=${roundId} />
    <${Teams} roundId=${roundId} />
    <${LateApplications} roundId=${roundId} />
  </section>`;
}
