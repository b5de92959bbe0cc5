// An opened inspection: conflicts first, then prerequisites, then sections -> articles, then submit.
import { html } from '../lib/html.js';
import {
  answersOf, blockersOf, notesOf, openConflictsOf, opinionsOf, photosOf, progressOf, raterCodes,
  scoringMode, walkSections,
} from '../lib/inspection.js';
import { formatTime } from '../lib/format.js';
import { Article, articleSig } from './article.js';
import { Button } from './parts.js';
import { Fixes, OwnTargets, PointsSummary, Vetoes, applyTiers, problemText } from './programme.js';
import { useEffect, useMemo, useState } from '../vendor/preact/hooks.js';

// The first screen of articles renders at once; the rest follow in slices between frames, so a long
// standard on a slow tablet answers a tap while it is still being laid out.
const FIRST_SLICE = 6;
const SLICE = 20;

const LOCKED = new Set(['submitted', 'accepted']);

function candidateLabel(t, value) {
  if (value === true) return t('yes');
  if (value === false) return t('no');
  if (value === null || value === undefined) return '—';
  return String(value);
}

function Conflicts({ app, ctx, conflicts }) {
  const t = app.state.t;
  if (!conflicts.length) return null;
  return html`<section class="conflicts" aria-label=${t('conflictsOpen', { n: conflicts.length })}>
    ${conflicts.map((c) => html`<div class="banner conflict" role="alert" data-testid="conflict" data-item=${c.itemCode} key=${c.id}>
      <p><strong>${t('conflictTitle', { item: c.itemCode })}</strong></p>
      <div class="candidates">${(c.candidates || []).map((cand) => html`<div class="candidate" key=${cand.clientId + cand.mutationId}>
        <${Button} testid="conflict-candidate" value=${String(cand.value)} kind="primary"
          disabled=${!ctx.canResolve || c.pending} onClick=${() => app.actions.resolveConflict(c, cand.value)}>
          ${t('conflictPick', { v: candidateLabel(t, cand.value) })}<//>
        <span class="muted">${t('conflictBy', { user: ctx.userName(cand.userId), client: String(cand.clientId || '').slice(0, 8) })}
          ${cand.hlc ? ` · ${formatTime(cand.hlc.slice(0, 24), app.state.lang.value)}` : ''}</span>
      </div>`)}</div>
      ${!ctx.canResolve && html`<p class="muted">${t('conflictLeadOnly')}</p>`}
    </div>`)}
  </section>`;
}

function Prerequisites({ app, ctx }) {
  const t = app.state.t;
  const list = ctx.bundle.prerequisites || [];
  if (!list.length) return null;
  return html`<section class="section card"><h2>${t('prerequisites')}</h2>
    ${list.map((p) => {
      const value = ctx.answers.get(p.id)?.value;
      const choose = (v) => app.actions.setAnswer(ctx.inspection.id, p.id, 'value', v);
      return html`<div class="prereq" data-testid="prerequisite" data-item=${p.id} key=${p.id}>
        <p><span class="num">${p.id}</span> ${p.text}</p>
        <div class="answers" role="group" aria-label=${p.id}>
          <${Button} testid="prerequisite-answer" value="true" pressed=${value === true} disabled=${ctx.locked}
            kind="grade pass" onClick=${() => choose(true)}>${t('met')}<//>
          <${Button} testid="prerequisite-answer" value="false" pressed=${value === false} disabled=${ctx.locked}
            kind="grade fail" onClick=${() => choose(false)}>${t('notMet')}<//>
        </div></div>`;
    })}</section>`;
}

function Opinions({ app, ctx }) {
  const t = app.state.t;
  const opinions = opinionsOf(app.state.view.value, ctx.inspection.id, ctx.inspection.facilityId);
  if (ctx.inspection.stage !== 'self' && !opinions.length) return null;
  return html`<section class="section card" data-testid="opinions"><h2>${t('opinions')}</h2>
    ${opinions.length ? opinions.map((o) => html`<blockquote class="opinion" data-testid="opinion" key=${o.id}>
      <p>${o.opinion || o.text}</p><footer class="muted">${o.stage ? t(`stage_${o.stage}`) : ''}
        ${o.returnedByName ? ` · ${o.returnedByName}` : ''} · ${formatTime(o.returnedAt || o.createdAt, app.state.lang.value)}</footer>
    </blockquote>`) : html`<p class="muted">${t('noOpinions')}</p>`}
  </section>`;
}

// The clinic applies for a tier once its self-assessment has run long enough (online: the office decides).
function Apply({ app, ctx }) {
  const t = app.state.t;
  const { inspection } = ctx;
  const [apps, setApps] = useState(null);
  const [error, setError] = useState(null);
  const online = app.state.online.value;
  const mine = inspection.stage === 'self' && app.state.session.value?.user?.role === 'clinic';
  // the two kinds of return, named apart: the application's (退回申请) and the review's (复核意见, 剔除)
  const [returns, setReturns] = useState([]);
  const load = () => {
    app.api.get(`/api/facilities/${inspection.facilityId}/opinions?roundId=${inspection.roundId}`)
      .then((r) => setReturns(r.data), () => setReturns([]));
    return app.api.get(`/api/applications?facilityId=${inspection.facilityId}&roundId=${inspection.roundId}`)
      .then((r) => setApps(r.data), () => setApps(null));
  };
  useEffect(() => {
    if (online && mine) load();
  }, [online, inspection.id, mine]);
  if (!mine || applyTiers(ctx.bundle).length === 0) return null;
  async function apply(tier) {
    setError(null);
    try {
      await app.api.post('/api/applications', { facilityId: inspection.facilityId, roundId: inspection.roundId, tier });
      await load();
    } catch (err) {
      setError(app.state.sayError(err)); // a re-application too soon says from when (its params)
    }
  }
  const open = (apps || []).filter((a) => a.status === 'applied' || a.status === 'accepted');
  return html`<section class="section card" data-testid="apply"><h2>${t('applyTitle')}</h2>
    ${(apps || []).map((a) => html`<p key=${a.id} data-testid="application-status" data-status=${a.status}>
      ${t(`tier_${a.tier}`)} · ${t(`app_${a.status}`)}</p>`)}
    ${returns.map((o) => html`<p key=${o.id} class="return-opinion" data-testid="return-opinion" data-kind=${o.kind} data-removal=${String(o.removal)}>
      <strong>${t(o.removal ? 'verdict.ui.return_removal' : `verdict.ui.return_${o.kind}`, { stage: o.stage ? t(`verdict.stage.${o.stage}`) : '' })}</strong>：${o.opinion}</p>`)}
    ${!online && html`<p class="muted">${t('applyOnline')}</p>`}
    ${online && open.length === 0 && html`<div class="row">
      ${applyTiers(ctx.bundle).map((tier, i) => html`<button type="button" key=${tier} class=${i === 0 ? 'btn primary' : 'btn'}
        data-testid=${`apply-${tier}`} onClick=${() => apply(tier)}>${t(tier === 'demonstration' ? 'reportToCity' : 'applyFor', { tier: t(`tier_${tier}`) })}</button>`)}
    </div>`}
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
  </section>`;
}

function SubmitPanel({ app, ctx }) {
  const t = app.state.t;
  if (ctx.locked) return html`<section class="submit card"><p class="ok-text" data-testid="submitted">${t('submitted')}</p></section>`;
  const blockers = blockersOf(app.state.view.value, ctx.inspection.id, ctx.bundle, ctx.rater);
  return html`<section class="submit card">
    ${blockers.length > 0 && html`<div data-testid="submit-blockers"><p>${t('blockers')}</p>
      <ul>${blockers.map((b, i) => html`<li key=${i}>${t(b.key, b.params)}</li>`)}</ul></div>`}
    <${Button} testid="submit-inspection" kind="primary wide" disabled=${blockers.length > 0}
      onClick=${() => app.actions.submitInspection(ctx.inspection.id)}>
      ${ctx.inspection.stage === 'self' ? t('submitSelf') : t('submit')}<//>
  </section>`;
}

function Section({ app, ctx, section, depth }) {
  const Heading = depth === 0 ? 'h2' : 'h3';
  if ((ctx.order.sections.get(section.code) ?? 0) >= ctx.shown) return null;
  return html`<section class=${`section depth-${depth}`} data-testid="section" data-section=${section.code}>
    <${Heading}><span class="num">${section.code}</span> ${section.title}<//>
    ${(section.articles || []).filter((a) => ctx.order.articles.get(a.number) < ctx.shown).map((a) => html`<${Article} key=${a.number} app=${app} ctx=${ctx} article=${a}
      sig=${articleSig(ctx, a, app.state.lang.value, app.state.progress.value)} />`)}
    ${(section.sections || []).map((s) => html`<${Section} key=${s.code} app=${app} ctx=${ctx} section=${s} depth=${depth + 1} />`)}
  </section>`;
}

function groupBy(items, key) {
  const map = new Map();
  for (const item of items) {
    const k = item[key];
    if (!map.has(k)) map.set(k, []);
    map.get(k).push(item);
  }
  return map;
}

export function Inspection({ app, id }) {
  const { state } = app;
  const t = state.t;
  const view = state.view.value;
  const inspection = view.get(`inspection/${id}`);
  const raters = [];
  const [rater, setRater] = useState(null);
  const [shown, setShown] = useState(FIRST_SLICE);
  const standardId = inspection?.standardVersionId;
  const bundleForOrder = state.standards.value.get(standardId);
  // reading order: each article's index, and each section's first article index (to skip empty sections)
  const order = useMemo(() => {
    const articles = new Map();
    const sections = new Map();
    walkSections(bundleForOrder?.sections).forEach(({ article, chain }, index) => {
      articles.set(article.number, index);
      for (const section of chain) if (!sections.has(section.code)) sections.set(section.code, index);
    });
    return { articles, sections };
  }, [bundleForOrder]);
  useEffect(() => {
    if (shown >= order.articles.size) return undefined;
    const timer = setTimeout(() => setShown((n) => n + SLICE), 0);
    return () => clearTimeout(timer);
  }, [shown, order]);
  if (!inspection) return html`<main class="page"><a class="btn link" href="#/">← ${t('back')}</a><p class="card empty">${t('noAssignments')}</p></main>`;
  const bundle = state.standards.value.get(inspection.standardVersionId);
  const facility = view.get(`facility/${inspection.facilityId}`);
  if (!bundle) {
    return html`<main class="page"><a class="btn link" href="#/">← ${t('back')}</a>
      <h1>${facility?.name || ''}</h1><p class="card empty">${t('syncing')}</p></main>`;
  }
  const mode = scoringMode(bundle);
  raters.push(...raterCodes(bundle));
  const activeRater = mode === 'passfail' && raters.length ? rater || raters[0].code : null;
  const listed = state.assignments.value.find((a) => a.inspectionId === id);
  const role = state.session.value?.user?.role;
  const local = state.photos.value;
  const receipt = state.receipts.value.get(id);
  const receiptStates = new Map((receipt?.photos || []).map((p) => [p.photoId, p]));
  const photos = photosOf(view, id).map((p) => {
    const mine = local.get(p.id);
    const server = receiptStates.get(p.id);
    const remoteState = server ? ({ awaiting_upload: 'queued' }[server.state] || server.state) : 'received';
    // notCounted: why the server does not count it toward the article's minimum (receipt)
    const notCounted = server?.notCounted || [];
    return mine
      ? { ...mine, flags: server?.flags || mine.flags || [], notCounted }
      : { photoId: p.id, itemCode: p.itemCode, size: p.size, state: remoteState, flags: server?.flags || [], reason: server?.reason, notCounted };
  });
  const conflicts = openConflictsOf(view, id);
  const resolved = [...view.values()].filter((v) => v && v.registerKey && v.inspectionId === id && v.status === 'resolved');
  const ctx = {
    inspection, bundle, mode, rater: activeRater, order, shown,
    locked: LOCKED.has(inspection.status),
    answers: answersOf(view, id),
    notesByItem: groupBy(notesOf(view, id), 'itemCode'),
    photosByItem: groupBy(photos, 'itemCode'),
    resolvedByItem: new Map(resolved.map((c) => [c.itemCode, c])),
    methods: new Map((bundle.evaluationMethods || []).map((m) => [m.code, m.label])),
    canResolve: role === 'office' || role === 'admin' || Boolean(listed?.isLead),
    userName: (userId) => {
      const member = (listed?.team || []).find((m) => m.userId === userId);
      if (member) return member.displayName || member.username;
      return userId === state.session.value?.user?.id ? state.session.value.user.username : String(userId || '').slice(0, 8);
    },
  };
  const progress = progressOf(view, id, bundle, activeRater);
  const articleCount = walkSections(bundle.sections).length;
  return html`<main class="page inspection" data-inspection-id=${id}>
    <a class="btn link" href="#/">← ${t('back')}</a>
    <header class="inspection-head card">
      <h1>${facility?.name || listed?.facilityName || ''}</h1>
      <p class="meta"><span class="badge stage">${t(`stage_${inspection.stage}`)}</span>
        <span class=${`badge status-${inspection.status}`}>${t(`status_${inspection.status}`)}</span>
        <span>${bundle.name}</span></p>
      <div class="progress-line"><span data-testid="progress">${t('answeredOf', { a: progress.answered, b: articleCount })}</span>
        <progress max=${articleCount || 1} value=${progress.answered} aria-label=${t('progress')}></progress></div>
      ${mode === 'passfail' && raters.length > 0 && html`<label class="field inline"><span>${t('rater')}</span>
        <select data-testid="rater" value=${activeRater} onChange=${(e) => setRater(e.currentTarget.value)}>
          ${raters.map((r) => html`<option value=${r.code} key=${r.code}>${r.label}</option>`)}</select></label>`}
      ${inspection.stage === 'self' && role === 'clinic' && mode === 'graded' && html`<p><a class="btn small" href=${`#/plan/${id}`} data-testid="plan-link">${t('planTitle')}</a></p>`}
    </header>
    <${Conflicts} app=${app} ctx=${ctx} conflicts=${conflicts} />
    <${Opinions} app=${app} ctx=${ctx} />
    <${Apply} app=${app} ctx=${ctx} />
    <${Prerequisites} app=${app} ctx=${ctx} />
    <${Vetoes} app=${app} ctx=${ctx} />
    <${Fixes} app=${app} ctx=${ctx} />
    ${(bundle.sections || []).map((s) => html`<${Section} key=${s.code} app=${app} ctx=${ctx} section=${s} depth=${0} />`)}
    <${PointsSummary} app=${app} ctx=${ctx} />
    <${OwnTargets} app=${app} ctx=${ctx} />
    <${SubmitPanel} app=${app} ctx=${ctx} />
  </main>`;
}
