// The province's thresholds where a standard leaves them open (省确定的服务能力推荐标准): each setting with its
// document (文号, date), who set it and when; a province office (or admin) sets a new one.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

const STANDARDS = ['cn-thc-capacity-2018', 'cn-chsc-capacity-2018'];

// a condition in the reader's words: "基本条款达到 B 档及以上" (the scope's code where it has no text)
function conditionText(t, c) {
  const key = `scope_${c.scope}`;
  const scope = t(key) === key ? c.scope : t(key);
  return c.gradeAtLeast ? t('scope_at_grade', { scope, grade: c.gradeAtLeast }) : scope;
}

// a standard in the reader's words: its title (名称) from the standards the API lists, the id only while they load
function standardTitle(titles, id) {
  return titles[id] || id;
}

function Setting({ setting, current, titles }) {
  const app = useApp();
  const t = app.state.t;
  return html`<article class="card" data-testid="threshold-setting" data-current=${String(current)}
    data-standard-id=${setting.standardId}>
    <h3><span data-testid="threshold-standard">${standardTitle(titles, setting.standardId)}</span> · ${setting.documentNo} · ${setting.documentDate} ${current && html`<span class="badge">${t('verdict.ui.in_force')}</span>`}</h3>
    <p class="muted">${setting.regionName} · ${t('verdict.ui.set_by', { by: setting.setByName, at: formatTime(setting.setAt, app.state.lang.value) })}
      ${setting.note && html` · ${setting.note}`}</p>
    <table class="table"><tbody>${Object.entries(setting.conditions).map(([tier, conds]) => html`<tr key=${tier}>
      <th scope="row">${conds[0]?.label || tier}</th>
      ${conds.map((c, i) => {
        const own = c.standardRatio;
        const set = (setting.thresholds[tier] || [])[i];
        return html`<td key=${i}>${conditionText(t, c)}：${own !== null ? t('verdict.ui.standard_ratio', { ratio: own })
          : set !== null && set !== undefined ? html`<strong>${set}</strong>` : t('verdict.ui.open_threshold')}</td>`;
      })}</tr>`)}</tbody></table>
  </article>`;
}

function SetForm({ onSaved, titles }) {
  const app = useApp();
  const t = app.state.t;
  const [standardId, setStandard] = useState(STANDARDS[0]);
  const standard = useApi(`/api/standards/${standardId}`);
  const [ratios, setRatios] = useState({});
  const [documentNo, setNo] = useState('');
  const [documentDate, setDate] = useState(new Date().toISOString().slice(0, 10));
  const [error, setError] = useState(null);
  const tiers = standard.data?.determination?.tiers || [];
  async function save(e) {
    e.preventDefault();
    setError(null);
    const thresholds = {};
    for (const tier of tiers) {
      if (!tier.conditions.some((c) => c.minRatio === null)) continue;
      thresholds[tier.code] = tier.conditions.map((c, i) => {
        const v = ratios[`${tier.code}.${i}`];
        return c.minRatio === null && v !== undefined && v !== '' ? Number(v) : null;
      });
    }
    try {
      await app.api.post('/api/thresholds', { standardId, thresholds, documentNo, documentDate });
      onSaved();
    } catch (err) {
      setError(err.message);
    }
  }
  return html`<form class="card stack" data-testid="thresholds-form" onSubmit=${save}>
    <label class="field inline"><span>${t('verdict.ui.standard')}</span>
      <select value=${standardId} onChange=${(e) => { setStandard(e.currentTarget.value); setRatios({}); }}>
        ${STANDARDS.map((s) => html`<option key=${s} value=${s}>${standardTitle(titles, s)}</option>`)}</select></label>
    ${tiers.map((tier) => html`<fieldset key=${tier.code}><legend>${tier.label}</legend>
      ${tier.conditions.map((c, i) => html`<label class="field inline" key=${i}><span>${conditionText(t, c)}</span>
        ${c.minRatio !== null ? html`<span class="muted">${t('verdict.ui.standard_ratio', { ratio: c.minRatio })}</span>`
          : html`<input type="number" min="0" max="1" step="0.01" data-testid=${`threshold-${tier.code}-${i}`}
            value=${ratios[`${tier.code}.${i}`] ?? ''} onInput=${(e) => setRatios({ ...ratios, [`${tier.code}.${i}`]: e.currentTarget.value })} />`}
      </label>`)}</fieldset>`)}
    <div class="row">
      <label class="field inline"><span>${t('verdict.ui.document_no')}</span>
        <input data-testid="threshold-document-no" required value=${documentNo} onInput=${(e) => setNo(e.currentTarget.value)} /></label>
      <label class="field inline"><span>${t('verdict.ui.document_date')}</span>
        <input type="date" required value=${documentDate} onInput=${(e) => setDate(e.currentTarget.value)} /></label>
      <button type="submit" class="btn primary" data-testid="threshold-save">${t('verdict.ui.save_thresholds')}</button>
    </div>
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
  </form>`;
}

export function Thresholds() {
  const app = useApp();
  const t = app.state.t;
  const settings = useApi('/api/thresholds');
  const standards = useApi('/api/standards');
  const titles = Object.fromEntries((standards.data || []).map((s) => [s.id, s.name]));
  const seen = new Set();
  return html`<section data-testid="thresholds">
    <p class="card muted">${t('verdict.ui.thresholds_intro')}</p>
    ${settings.error && html`<p class="banner error" role="alert">${app.state.sayError(settings.error)}</p>`}
    ${(standards.data || standards.error ? settings.data || [] : []).map((s) => {
      const current = !seen.has(`${s.regionId}/${s.standardId}`);
      seen.add(`${s.regionId}/${s.standardId}`);
      return html`<${Setting} key=${s.id} setting=${s} current=${current} titles=${titles} />`;
    })}
    ${standards.data && html`<${SetForm} onSaved=${settings.reload} titles=${titles} />`}
  </section>`;
}
