// A stage's verdict at sign-off: who decides (the standard, the province's setting, or the review group with a
// written reason), the rules' ratios beside it, and the written opinion a removal needs. Texts are codes
// (vocabulary/verdict.json) said in the reader's language.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { say } from '../../lib/i18n.js';
import { Confirm } from '../confirm.js';
import { useApp } from '../../lib/app_context.js';

// One tier's standing as one line: its label, then what the engine says of it. The engine's sentence most
// often names the tier already ("合格标准：机构不符合申报条件"): then it is the line, the label not said twice.
export function standingLine(t, standing) {
  const said = standing.message ? t(standing.message.code, standing.message.params) : t(`standing_${standing.standing}`);
  return said.includes(standing.label) ? said : `${standing.label}：${said}`;
}

const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10}%`);

export function Statement({ lines, testid = 'verdict-statement' }) {
  const app = useApp();
  const lang = app.state.lang.value;
  if (!lines?.length) return null;
  return html`<ul class="statement" data-testid=${testid}>${lines.map((line, i) => html`<li key=${i} data-code=${line.code}>${say(lang, line)}</li>`)}</ul>`;
}

function Ratios({ conclusion }) {
  const app = useApp();
  const t = app.state.t;
  const rows = [];
  for (const tier of conclusion?.tiers || []) {
    for (const c of tier.conditions || []) {
      rows.push(html`<li key=${`${tier.code}-${rows.length}`}>${t('verdict.ui.ratio_line', {
        tier: tier.label, scope: c.scope, grade: c.gradeAtLeast || '', actual: pct(c.actualRatio),
        required: c.requiredRatio === null ? t('verdict.ui.open_threshold') : pct(c.requiredRatio) })}</li>`);
    }
  }
  if (!rows.length) return null;
  return html`<details class="ratios" data-testid="verdict-ratios"><summary>${t('verdict.ui.ratios')}</summary><ul>${rows}</ul></details>`;
}

export function VerdictSignOff({ stage, view, signed, onSigned }) {
  const app = useApp();
  const t = app.state.t;
  const verdict = view?.verdict;
  const conclusion = verdict?.provincial || view?.conclusion;
  const tiers = (view?.conclusion?.tiers || []).map((x) => ({ code: x.code, label: x.label }));
  const [tier, setTier] = useState('');
  const [reason, setReason] = useState('');
  const [opinion, setOpinion] = useState('');
  const [error, setError] = useState(null);
  const [asking, setAsking] = useState(false);
  if (signed) {
    return html`<div data-testid="verdict-signed" data-decided-by=${signed.decidedBy || ''} data-tier=${signed.tier || ''}>
      <p class="ok-text" data-testid="signed-off">✓ ${t('verdict.ui.signed', { tier: signed.tierLabel || signed.tier, by: signed.confirmedByName })}</p>
      <${Statement} lines=${signed.statement} />
    </div>`;
  }
  if (!verdict) return null;
  const needsGroup = !verdict.decidedBy;
  // the tier the sign-off records: the group's choice, else the rules' (a 待定 one cannot be signed as it is)
  const chosen = tier === 'not_reached' ? t('verdict.tier.not_reached') : tiers.find((x) => x.code === tier)?.label;
  const recorded = chosen || verdict.tierLabel || '—';
  // what the deciding conclusion (the province's setting where it decides) finds short
  const short = (conclusion?.standings || []).filter((x) => x.standing !== 'reached');
  async function sign() {
    setAsking(false);
    setError(null);
    const body = {};
    if (tier) body.decision = { tier, reason: reason.trim() };
    if (opinion.trim()) body.opinion = opinion.trim();
    try {
      await app.api.post(`/api/inspections/${stage.inspectionId}/conclusion/confirm`, body);
      onSigned();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<form class="verdict stack" data-testid="verdict" data-decided-by=${verdict.decidedBy || 'group'}
      onSubmit=${(e) => { e.preventDefault(); setAsking(true); }}>
    <h4>${t('verdict.ui.proposal')}</h4>
    <${Statement} lines=${verdict.statement} />
    ${verdict.decidedBy === 'province' && html`<p class="badge demo-setting" data-testid="province-setting">${t('verdict.ui.demo_setting')}</p>`}
    <${Ratios} conclusion=${conclusion} />
    <label class="field"><span>${needsGroup ? t('verdict.ui.decide') : t('verdict.ui.decide_tier')}</span>
      <select data-testid="verdict-tier" value=${tier} onChange=${(e) => setTier(e.currentTarget.value)}>
        ${!needsGroup && html`<option value="">${t('verdict.ui.keep_rule')}</option>`}
        ${needsGroup && html`<option value="">—</option>`}
        ${tiers.map((x) => html`<option key=${x.code} value=${x.code}>${x.label}</option>`)}
        <option value="not_reached">${t('verdict.tier.not_reached')}</option>
      </select></label>
    ${(needsGroup || tier) && html`<label class="field"><span>${t('verdict.ui.reason')}</span>
      <textarea data-testid="verdict-reason" rows="2" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea></label>`}
    <label class="field"><span>${t('verdict.ui.opinion')}</span>
      <textarea data-testid="verdict-opinion" rows="2" value=${opinion} onInput=${(e) => setOpinion(e.currentTarget.value)}></textarea></label>
    ${error && html`<p class="banner error" role="alert" data-testid="verdict-error">${error}</p>`}
    <button type="submit" class="btn primary" data-testid="conclusion-confirm" disabled=${needsGroup && (!tier || !reason.trim())}>${t('verdict.ui.sign')}</button>
    <${Confirm} t=${t} open=${asking} title=${t('verdict.ui.sign')}
      happens=${[t('nav.confirm.signHappens', { stage: t(`stage_${stage.stage}`), tier: recorded })]}
      missing=${[
        stage.status !== 'submitted' && stage.status !== 'accepted' && t('nav.confirm.signNotSubmitted', { status: t(`status_${stage.status}`) }),
        ...short.map((x) => standingLine(t, x)),
      ].filter(Boolean)}
      final=${[t('nav.confirm.signFinal')]} okLabel=${t('nav.confirm.signOk')} onCancel=${() => setAsking(false)} onOk=${sign} />
  </form>`;
}
