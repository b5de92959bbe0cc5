// What the programme kinds beside 基层行 add to an opened inspection: the one-vote veto items of a points-scored
// standard (answered offline like prerequisites), and, online, the veto and indicator floors beside the
// conclusion (GET /api/inspections/{id}/points-summary).
import { html } from '../lib/html.js';
import { Button } from './parts.js';
import { useEffect, useState } from '../vendor/preact/hooks.js';
import { Appraisal } from './appraisal.js';
import { useApp } from '../lib/app_context.js';

// points as a reader reads them: one decimal at most (a linear indicator scores a share of its maximum)
const tenth = (x) => Math.round(x * 10) / 10;

export function Vetoes({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  // the vetoes a submit asks for (the checklist's), with their words from the standard
  const asked = new Set(ctx.checklist.vetoes);
  const list = (ctx.bundle.vetoItems || []).filter((v) => asked.has(v.id));
  if (!list.length) return null;
  return html`<section class="section card" data-testid="vetoes"><h2>${t('vetoTitle')}</h2>
    <p class="muted">${t('vetoHelp')}</p>
    ${list.map((v) => {
      const value = ctx.answers.get(v.id)?.value;
      const choose = (answer) => app.actions.setAnswer(ctx.inspection.id, v.id, 'value', answer);
      return html`<div class="prereq" data-testid="veto" data-item=${v.id} key=${v.id}>
        <p><span class="num">${v.id}</span> ${v.text}</p>
        <div class="answers" role="group" aria-label=${v.id}>
          <${Button} testid="veto-answer" value="true" pressed=${value === true} disabled=${ctx.locked}
            kind="grade pass" onClick=${() => choose(true)}>${t('met')}<//>
          <${Button} testid="veto-answer" value="false" pressed=${value === false} disabled=${ctx.locked}
            kind="grade fail" onClick=${() => choose(false)}>${t('notMet')}<//>
        </div></div>`;
    })}</section>`;
}

const mark = (ok) => (ok === null || ok === undefined ? '—' : ok ? '✓' : '✗');

export function PointsSummary({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const online = app.state.online.value;
  const [summary, setSummary] = useState(null);
  const { inspection } = ctx;
  const version = inspection.version;
  useEffect(() => {
    if (!online || ctx.mode !== 'points') return;
    app.api.get(`/api/inspections/${inspection.id}/points-summary`).then((r) => setSummary(r.data), () => setSummary(null));
  }, [online, inspection.id, version, ctx.mode]);
  if (ctx.mode !== 'points' || !summary) return null;
  return html`<section class="section card" data-testid="points-summary" data-status=${summary.status}>
    <h2>${t('pointsSummaryTitle')}</h2>
    <p data-testid="points-total">${t('pointsTotal', { points: tenth(summary.points ?? 0), max: summary.maxPoints ?? 0 })}
      ${summary.tierLabel ? ` · ${summary.tierLabel}` : ` · ${t(`conclusion_${summary.status}`)}`}</p>
    ${summary.vetoes.map((v) => html`<p key=${v.id} data-testid="veto-outcome" data-outcome=${v.outcome}
      class=${v.outcome === 'failed' ? 'banner error' : ''}>${t(`vetoOutcome_${v.outcome}`, { id: v.id, text: v.text })}</p>`)}
    <table class="table"><thead><tr><th scope="col">${t('indicator')}</th><th scope="col">${t('measured')}</th>
      <th scope="col">${t('nationalTarget')}</th><th scope="col">${t('ownTarget')}</th><th scope="col">${t('pointsShort')}</th></tr></thead>
    <tbody>${summary.floors.map((f) => html`<tr key=${f.article} data-testid="floor" data-item=${f.article} data-met=${String(f.metNational)} data-met-own=${String(f.metOwn)}
        data-scored-against=${f.scoredAgainst}>
      <td>${f.article} ${f.title}</td><td>${f.measured}</td>
      <td>${f.op === '>=' ? '≥' : '≤'} ${f.national} ${mark(f.metNational)}</td>
      <td>${f.ownTarget === null ? '—' : html`${f.op === '>=' ? '≥' : '≤'} ${f.ownTarget} ${mark(f.metOwn)}`}</td>
      <td>${tenth(f.points)}/${f.maxPoints}<br /><span class="muted" data-testid="scored-against">${t(`scoredAgainst_${f.scoredAgainst}`)}</span></td></tr>`)}</tbody></table>
  </section>`;
}

// The tiers a subject applies for: a programme with a title (MCH: demonstration) reports its self-evaluation
// for that title; 基层行 applies for the basic or recommended standard.
export function applyTiers(bundle) {
  const codes = (bundle?.determination?.tiers || []).map((tier) => tier.code);
  // a programme that applies for nothing (school logistics) offers no button
  return codes.includes('demonstration') ? ['demonstration'] : ['basic', 'recommended'].filter((c) => codes.includes(c));
}

// School logistics: the fixes of failed critical items at this school's term (online), beside its routine visit.
export function Fixes({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const online = app.state.online.value;
  const [fixes, setFixes] = useState(null);
  const { inspection, bundle } = ctx;
  const school = bundle.programme === '学校后勤服务';
  useEffect(() => {
    if (!online || !school) return;
    app.api.get(`/api/schools/${inspection.facilityId}/rounds/${inspection.roundId}/fixes`)
      .then((r) => setFixes(r.data), () => setFixes(null));
  }, [online, school, inspection.id, inspection.version]);
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  if (!school || !fixes) return null;
  // the term report in the reader's language: a PDF or an XLSX, each made by an export job (like the improvement plan)
  async function report(format) {
    setBusy(format);
    setError(null);
    try {
      const { download, exportAndDownload } = await import('./office/files.js');
      const { facilityId, roundId } = inspection;
      await exportAndDownload(app, { kind: 'term-report', format, facilityId, roundId, lang: app.state.lang.value });
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(null);
    }
  }
  const state = (f) => (f.status === 'closed' ? 'closed' : f.passedWithoutPhoto ? 'passed_without_photo' : f.overdue ? 'overdue' : 'open');
  return html`<section class="section card" data-testid="fixes"><h2>${t('fixesTitle')}</h2>
    ${fixes.length === 0 ? html`<p class="muted">${t('noFixes')}</p>` : fixes.map((f) => html`<p key=${f.id} data-testid="fix"
      data-item=${f.article} data-status=${f.status} class=${f.status === 'closed' ? 'ok-text' : f.overdue ? 'banner error' : ''}>
      <strong>${f.article} ${f.title}</strong> · ${t('termFixDue')} ${f.dueOn} · ${t(`fixState_${state(f)}`, { day: f.closedOn || '' })}</p>`)}
    <div class="row">
      <button type="button" class="btn" data-testid="term-pdf" disabled=${busy !== null} onClick=${() => report('pdf')}>
        ${busy === 'pdf' ? t('pdfMaking') : t('termReportPdf')}</button>
      <button type="button" class="btn" data-testid="term-xlsx" disabled=${busy !== null} onClick=${() => report('xlsx')}>${t('termReportXlsx')}</button>
    </div>
    ${error && html`<p class="warn-text" role="alert">${error}</p>`}
  </section>`;
}

// School logistics: the term's staff appraisal (online), below the routine visit the duty officer opened.
export function SchoolAppraisal({ ctx }) {
  const app = useApp();
  const { inspection, bundle } = ctx;
  if (!app.state.online.value || bundle.programme !== '学校后勤服务' || inspection.stage !== 'self') return null;
  return html`<${Appraisal} facilityId=${inspection.facilityId} roundId=${inspection.roundId} />`;
}

// MCH: the county sets its own indicator targets, never below the national values (online; the server refuses
// a lower one with 422 below_national_target and says which).
export function OwnTargets({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const online = app.state.online.value;
  const { inspection, mode } = ctx;
  const mine = mode === 'points' && inspection.stage === 'self' && app.state.session.value?.user?.role === 'clinic';
  const [rows, setRows] = useState(null);
  const [draft, setDraft] = useState({});
  const [problems, setProblems] = useState([]);
  const [saved, setSaved] = useState(false);
  const url = `/api/rounds/${inspection.roundId}/subjects/${inspection.facilityId}/targets`;
  useEffect(() => {
    if (!online || !mine) return;
    app.api.get(url).then((r) => setRows(r.data), () => setRows(null));
  }, [online, mine, inspection.id]);
  if (!mine || !rows || rows.length === 0) return null;
  async function save() {
    setProblems([]);
    setSaved(false);
    const targets = Object.entries(draft).filter(([, v]) => v !== '').map(([article, v]) => ({ article, target: Number(v) }));
    try {
      setRows((await app.api.put(url, { targets })).data);
      setDraft({});
      setSaved(true);
    } catch (err) {
      setProblems(err.problem?.problems?.length ? err.problem.problems.map((p) => t(`ownTarget_${p.code}`, p.params)) : [app.state.sayError(err)]);
    }
  }
  return html`<section class="section card" data-testid="own-targets"><h2>${t('ownTargetsTitle')}</h2>
    <p class="muted">${t('ownTargetsHelp')}</p>
    <table class="table"><thead><tr><th scope="col">${t('indicator')}</th><th scope="col">${t('ownTargetFloor')}</th><th scope="col">${t('ownTarget')}</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr key=${r.article} data-testid="own-target" data-item=${r.article}>
      <td>${r.article} ${r.title}</td><td>${r.op === '>=' ? '≥' : '≤'} ${r.floor}</td>
      <td><input type="number" inputmode="decimal" step="any" data-testid="own-target-input" aria-label=${`${t('ownTarget')} ${r.article}`}
        value=${draft[r.article] ?? (r.target ?? '')} onInput=${(e) => setDraft({ ...draft, [r.article]: e.currentTarget.value })} /></td></tr>`)}</tbody></table>
    <button type="button" class="btn primary" data-testid="own-targets-save" onClick=${save}>${t('save')}</button>
    ${saved && html`<span class="ok-text" data-testid="own-targets-saved"> ${t('ownTargetsSaved')}</span>`}
    ${problems.map((text, i) => html`<p key=${i} class="banner error" role="alert" data-testid="own-target-problem">${text}</p>`)}
  </section>`;
}
