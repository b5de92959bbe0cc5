import { html } from '../../lib/html.js';
import { formatBytes, formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { StageSummary } from './stages.js';
import { useApp } from '../../lib/app_context.js';

const TIER_COLOURS = { recommended: '#0f766e', basic: '#2563eb', qualified: '#7c3aed', not_reached: '#b91c1c', undetermined: '#9ca3af', not_evaluated: '#f59e0b' };

// Tier distribution by county as a stacked bar chart (SVG, no library).
function TierChart({ t, rows }) {
  if (!rows.length) return html`<p class="muted">${t('noConclusions')}</p>`;
  const tiers = [...new Set(rows.flatMap((r) => Object.keys(r.tiers)))];
  const max = Math.max(1, ...rows.map((r) => Object.values(r.tiers).reduce((a, b) => a + b, 0)));
  const barH = 28;
  const labelW = 120;
  const width = 560;
  const height = rows.length * (barH + 12) + 40;
  return html`<figure class="chart" data-testid="tier-chart">
    <svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${t('tiersByCounty')}>
      ${rows.map((row, i) => {
        let x = labelW;
        const y = 10 + i * (barH + 12);
        return html`<g key=${row.countyId}>
          <text x="0" y=${y + barH * 0.7} font-size="14" fill="#1f2933">${row.countyName}</text>
          ${tiers.map((tier) => {
            const n = row.tiers[tier] || 0;
            const w = (n / max) * (width - labelW - 20);
            const rect = n ? html`<rect key=${tier} x=${x} y=${y} width=${w} height=${barH} fill=${TIER_COLOURS[tier] || '#64748b'}><title>${t(`tier_${tier}`)}: ${n}</title></rect>
              <text x=${x + w / 2} y=${y + barH * 0.7} font-size="13" fill="#fff" text-anchor="middle">${n}</text>` : null;
            x += w;
            return rect;
          })}
        </g>`;
      })}
    </svg>
    <figcaption class="legend">${tiers.map((tier) => html`<span key=${tier}><i style=${{ background: TIER_COLOURS[tier] || '#64748b' }}></i>${t(`tier_${tier}`)}</span>`)}</figcaption>
  </figure>`;
}

export function Dashboard({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const { data, error, loading } = useApi(`/api/rounds/${roundId}/dashboard`);
  if (error) return html`<p class="banner error" role="alert">${app.state.sayError(error)}</p>`;
  if (loading || !data) return html`<p class="muted">${t('loading')}</p>`;
  const stages = ['self', 'county', 'city', 'province'];
  const statuses = ['draft', 'in_progress', 'submitted', 'returned', 'accepted'];
  return html`<section data-testid="dashboard">
    <div class="kpis">
      <div class="card kpi"><span>${t('facilities')}</span><strong>${data.facilities}</strong></div>
      <div class="card kpi"><span>${t('photosToArrive')}</span><strong data-testid="photos-to-arrive">${data.photosToArrive}</strong><small class="muted">/ ${data.photosExpected}</small></div>
      <div class="card kpi"><span>${t('openConflicts')}</span><strong>${data.openConflicts}</strong></div>
    </div>
    <${StageSummary} roundId=${roundId} />
    <div class="grid2">
      <section class="card"><h2>${t('inspectionsByStage')}</h2>
        <table class="table"><thead><tr><th scope="col">${t('stage')}</th>${statuses.map((s) => html`<th scope="col" key=${s}>${t(`status_${s}`)}</th>`)}</tr></thead>
        <tbody>${stages.map((stage) => html`<tr key=${stage}><th scope="row">${t(`stage_${stage}`)}</th>
          ${statuses.map((s) => html`<td key=${s}>${data.inspections?.[stage]?.[s] || 0}</td>`)}</tr>`)}</tbody></table>
      </section>
      <section class="card"><h2>${t('tiersByCounty')}</h2><${TierChart} t=${t} rows=${data.tiersByCounty || []} /></section>
    </div>
    <section class="card"><h2>${t('devices')}</h2>
      ${data.devices?.length ? html`<table class="table"><thead><tr><th scope="col">${t('username')}</th><th scope="col">${t('device')}</th>
        <th scope="col">${t('lastSync')}</th><th scope="col">${t('queuedMutations')}</th><th scope="col">${t('queuedPhotos')}</th></tr></thead>
        <tbody>${data.devices.map((d) => html`<tr key=${d.clientId} data-testid="device" data-client-id=${d.clientId}>
          <td>${d.username}</td><td data-testid="device-name" title=${`${d.clientId} · ${d.appVersion || ''}`}>${d.deviceName || html`<code>${d.clientId.slice(0, 8)}</code>`}</td>
          <td>${formatTime(d.lastSyncAt, lang)}</td><td data-testid="device-queued-mutations">${d.queuedMutations ?? '—'}</td>
          <td data-testid="device-queued-photos">${d.queuedPhotos == null ? '—' : `${d.queuedPhotos}${d.queuedBytes ? `（${formatBytes(d.queuedBytes)}）` : ''}`}</td></tr>`)}</tbody></table>`
        : html`<p class="muted">—</p>`}
    </section>
  </section>`;
}
