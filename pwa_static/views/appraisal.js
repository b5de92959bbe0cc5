// The staff appraisal of school logistics (seed 004), online: the school's logistics staff, each one's score per
// rater (the duty officer's from the routine visits, the others typed in, several per rater kind averaged), the
// weights and the combined score once every rater has one. Shown to the school beside its visit and to the office
// in its logistics tab; the server decides (backend/programme/logistics.py) and its refusals are said here.
import { useEffect, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { useApp } from '../lib/app_context.js';

const DUTY_OFFICER = 'duty_officer';

function useGet(path) {
  const app = useApp();
  const [state, setState] = useState({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    app.api.get(path).then((r) => live && setState({ data: r.data, error: null }),
      (err) => live && setState({ data: null, error: err }));
    return () => { live = false; };
  }, [path, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

const raterName = (t, r) => {
  const said = t(`rater_${r.rater}`);
  return said === `rater_${r.rater}` ? r.label : said;
};

function StaffAppraisal({ staff, roundId, editable }) {
  const app = useApp();
  const t = app.state.t;
  const appraisal = useGet(`/api/staff/${staff.id}/rounds/${roundId}/appraisal`);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const a = appraisal.data;
  async function record(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setError(null);
    setBusy(true);
    try {
      await app.api.post(`/api/staff/${staff.id}/rounds/${roundId}/appraisal/scores`, {
        rater: data.get('rater'), raterName: String(data.get('raterName') || '').trim(), score: Number(data.get('score')),
      });
      form.reset();
      appraisal.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(false);
    }
  }
  if (appraisal.error) return html`<p class="banner error" role="alert">${app.state.sayError(appraisal.error)}</p>`;
  if (!a) return html`<p class="muted">${t('loading')}</p>`;
  const typed = a.raters.filter((r) => r.rater !== DUTY_OFFICER);
  return html`<div class="appraisal-staff" data-testid="appraisal-staff" data-staff-id=${staff.id}
      data-combined=${a.combined ?? ''}>
    <h3>${a.name} <span class="muted">· ${t(`post_${a.post}`)}</span></h3>
    <table class="table"><thead><tr><th scope="col">${t('appraisalRater')}</th><th scope="col">${t('appraisalWeight')}</th>
      <th scope="col">${t('appraisalScore')}</th><th scope="col">${t('appraisalCount')}</th><th scope="col">${t('appraisalContribution')}</th></tr></thead>
      <tbody>${a.raters.map((r) => html`<tr key=${r.rater} data-testid="appraisal-rater" data-rater=${r.rater} data-score=${r.score ?? ''}>
        <td>${raterName(t, r)}${r.rater === DUTY_OFFICER ? html`<br /><span class="muted">${t('appraisalFromVisits')}</span>` : ''}</td>
        <td>${Math.round(r.weight * 100)}%</td><td>${r.score ?? '—'}</td><td>${r.count}</td><td>${r.contribution ?? '—'}</td></tr>`)}
      </tbody></table>
    <p data-testid="appraisal-combined">${t('termCombined')}：<strong>${a.combined ?? '—'}</strong>
      ${a.combined === null && html` <span class="muted">${t('termMissing', { raters: a.raters.filter((r) => r.score === null).map((r) => raterName(t, r)).join(app.state.lang.value === 'en' ? ', ' : '、') })}</span>`}</p>
    ${editable && html`<form class="row appraisal-form" data-testid="appraisal-form" onSubmit=${record}>
      <label class="field inline"><span>${t('appraisalRater')}</span><select name="rater" data-testid="appraisal-rater-select">
        ${typed.map((r) => html`<option key=${r.rater} value=${r.rater}>${raterName(t, r)}</option>`)}</select></label>
      <label class="field inline"><span>${t('appraisalRaterName')}</span><input name="raterName" required maxlength="100" data-testid="appraisal-rater-name" /></label>
      <label class="field inline"><span>${t('appraisalScore')}</span><input name="score" type="number" min="0" max="100" step="0.5" required data-testid="appraisal-score" /></label>
      <button type="submit" class="btn primary" disabled=${busy} data-testid="appraisal-record">${t('appraisalRecord')}</button>
    </form>`}
    ${error && html`<p class="banner error" role="alert" data-testid="appraisal-error">${error}</p>`}
  </div>`;
}

// A school's staff and their appraisal at a round; ``editable``: the school and the office may add staff and scores.
export function Appraisal({ facilityId, roundId, editable = true }) {
  const app = useApp();
  const t = app.state.t;
  const staff = useGet(`/api/schools/${facilityId}/staff`);
  const [error, setError] = useState(null);
  async function add(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setError(null);
    try {
      await app.api.post(`/api/schools/${facilityId}/staff`, { name: String(data.get('name') || '').trim(), post: data.get('post') });
      form.reset();
      staff.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section class="section card" data-testid="appraisal"><h2>${t('appraisalTitle')}</h2>
    <p class="muted">${t('termStaff')}</p>
    ${staff.error && html`<p class="banner error" role="alert">${app.state.sayError(staff.error)}</p>`}
    ${(staff.data || []).length === 0 && !staff.error ? html`<p class="muted">${t('termNoStaff')}</p>` : ''}
    ${(staff.data || []).map((s) => html`<${StaffAppraisal} key=${s.id} staff=${s} roundId=${roundId} editable=${editable} />`)}
    ${editable && html`<h3>${t('appraisalAddStaff')}</h3><form class="row" data-testid="staff-form" onSubmit=${add}>
      <label class="field inline"><span>${t('termStaffName')}</span><input name="name" required maxlength="100" data-testid="staff-name" /></label>
      <label class="field inline"><span>${t('termStaffPost')}</span><select name="post" data-testid="staff-post">
        <option value="canteen">${t('post_canteen')}</option><option value="shop">${t('post_shop')}</option></select></label>
      <button type="submit" class="btn" data-testid="staff-add">${t('appraisalAddStaff')}</button>
    </form>`}
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
  </section>`;
}
