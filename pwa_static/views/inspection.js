// An opened inspection: conflicts first, then prerequisites, then sections -> articles, then submit.
import { html } from '../lib/html.js';
import {
  answersOf, blockersOf, checklistArticles, groupBy, mergedPhotos, notesOf, openConflictsOf, opinionsOf, progressOf,
  refusalsByItem, resolvedConflictsOf, unsentPhotoCount, walkSections,
} from '../lib/inspection.js';
import { candidateAuthorText, knownName } from '../lib/conflicts.js';
import { formatTime } from '../lib/format.js';
import { articleFacts, matchArticles, nextUnanswered, readingOrder, sectionProgress } from '../lib/navigation.js';
import { Article, LocationNote, articleSig } from './article.js';
import { Confirm } from './confirm.js';
import { Finder, NavBar, SectionIndex, articleAtTop, loadPlace, savePlace, scrollToArticle } from './navigator.js';
import { Button } from './parts.js';
import { Fixes, OwnTargets, PointsSummary, SchoolAppraisal, Vetoes, applyTiers } from './programme.js';
import { useEffect, useMemo, useRef, useState } from '../vendor/preact/hooks.js';
import { useApp } from '../lib/app_context.js';

// The first screen of articles renders at once; the rest follow in slices between frames, so a long
// standard on a slow tablet answers a tap while it is still being laid out.
// Small slices keep each task short (total blocking time on a slow phone), at the cost of a few more frames.
const FIRST_SLICE = 6;
const SLICE = 6;

const LOCKED = new Set(['submitted', 'accepted']);

// Who may change this inspection: the server's rule (backend/inspections/scope.py) said before a tap, so a
// read-only screen says why instead of letting a change vanish. null: may write.
function readOnlyReason(user, inspection, listed) {
  if (!user) return 'nav.readonly.signedOut';
  if (user.role === 'admin') return null;
  if (user.role === 'office') return inspection.stage === 'self' ? 'nav.readonly.officeSelf' : 'nav.readonly.officeReview';
  if (user.role === 'clinic') {
    return inspection.stage === 'self' && inspection.facilityId === user.facilityId ? null : 'nav.readonly.clinicReview';
  }
  if (user.role === 'inspector') return (listed?.team || []).some((m) => m.userId === user.id) ? null : 'nav.readonly.notTeam';
  return 'nav.readonly.role';
}

function candidateLabel(t, value) {
  if (value === true) return t('yes');
  if (value === false) return t('no');
  if (value === null || value === undefined) return '—';
  return String(value);
}

function Conflicts({ ctx, conflicts }) {
  const app = useApp();
  const t = app.state.t;
  if (!conflicts.length) return null;
  return html`<section class="conflicts" aria-label=${t('conflictsOpen', { n: conflicts.length })}>
    ${conflicts.map((c) => html`<div class="banner conflict" role="alert" data-testid="conflict" data-item=${c.itemCode} key=${c.id}>
      <p><strong>${t('conflictTitle', { item: c.itemCode })}</strong></p>
      <div class="candidates">${(c.candidates || []).map((cand) => html`<div class="candidate" key=${cand.clientId + cand.mutationId}>
        <${Button} testid="conflict-candidate" value=${String(cand.value)} kind="primary"
          disabled=${!ctx.canResolve || c.pending} onClick=${() => app.actions.resolveConflict(c, cand.value)}>
          ${t('conflictPick', { v: candidateLabel(t, cand.value) })}<//>
        <span class="muted"><span data-testid="conflict-author">${candidateAuthorText(t, cand, ctx.userName(cand.userId))}</span>
          ${cand.hlc ? ` · ${formatTime(cand.hlc.slice(0, 24), app.state.lang.value)}` : ''}</span>
      </div>`)}</div>
      ${!ctx.canResolve && !ctx.resolver && html`<p class="muted">${t('conflictLeadOnly')}</p>`}
      ${!ctx.canResolve && ctx.resolver && html`<p class="muted" data-testid="conflict-resolver">${t('nav.conflictResolverDecides', { name: ctx.resolver.displayName || ctx.resolver.username })}</p>`}
      ${ctx.canResolve && ctx.inspection.stage === 'self' && html`<p class="muted" data-testid="conflict-clinic-decides">${t(ctx.resolver ? 'nav.conflictYouDecide' : 'nav.conflictClinicDecides')}</p>`}
    </div>`)}
  </section>`;
}

function Prerequisites({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const list = ctx.bundle.prerequisites || [];
  if (!list.length) return null;
  return html`<section class="section card"><h2>${t('prerequisites')}</h2>
    ${list.map((p) => {
      const { value, saving } = ctx.answers.get(p.id) || {};
      const choose = (v) => app.actions.setAnswer(ctx.inspection.id, p.id, 'value', v);
      return html`<div class="prereq" data-testid="prerequisite" data-item=${p.id} key=${p.id}>
        <p><span class="num">${p.id}</span> ${p.text}</p>
        <div class="answers" role="group" aria-label=${p.id} aria-busy=${saving ? 'true' : null} data-saving=${saving ? 'true' : null}>
          <${Button} testid="prerequisite-answer" value="true" pressed=${value === true} disabled=${ctx.locked}
            kind="grade pass" onClick=${() => choose(true)}>${t('met')}<//>
          <${Button} testid="prerequisite-answer" value="false" pressed=${value === false} disabled=${ctx.locked}
            kind="grade fail" onClick=${() => choose(false)}>${t('notMet')}<//>
        </div></div>`;
    })}</section>`;
}

function Opinions({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const opinions = opinionsOf(app.state.view.value, ctx.inspection.id, ctx.inspection.facilityId);
  if (ctx.inspection.stage !== 'self' && !opinions.length) return null;
  return html`<section class="section card" data-testid="opinions"><h2>${t('opinions')}</h2>
    ${opinions.length ? opinions.map((o) => html`<blockquote class="opinion" data-testid="opinion" key=${o.id} data-kind=${o.kind || 'review'} data-removal=${String(Boolean(o.removal))}>
      <strong>${t(o.removal ? 'verdict.ui.return_removal' : `verdict.ui.return_${o.kind || 'review'}`, { stage: o.stage ? t(`verdict.stage.${o.stage}`) : '' })}</strong>
      <p>${o.opinion || o.text}</p><footer class="muted">${o.returnedByName ? `${o.returnedByName} · ` : ''}${formatTime(o.returnedAt || o.createdAt, app.state.lang.value)}</footer>
    </blockquote>`) : html`<p class="muted">${t('noOpinions')}</p>`}
  </section>`;
}

// The clinic applies for a tier once its self-assessment has run long enough (online: the office decides).
function Apply({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const { inspection } = ctx;
  const [apps, setApps] = useState(null);
  const [error, setError] = useState(null);
  const [asking, setAsking] = useState(null); // the tier awaiting confirmation
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
  // the server takes an application only once the self-assessment is submitted: no button before that
  const submitted = LOCKED.has(inspection.status);
  const facts = ctx.facts;
  const unanswered = [...facts.values()].filter((f) => !f.answered).length;
  const short = [...facts.values()].reduce((n, f) => n + f.short, 0);
  const missing = [
    unanswered && t('nav.confirm.unanswered', { n: unanswered, total: facts.size }),
    short && t('nav.confirm.photosShort', { n: short }),
  ].filter(Boolean);
  return html`<section class="section card" data-testid="apply"><h2>${t('applyTitle')}</h2>
    ${(apps || []).map((a) => html`<p key=${a.id} data-testid="application-status" data-status=${a.status}>
      ${t(`tier_${a.tier}`)} · ${t(`app_${a.status}`)}</p>`)}
    ${returns.map((o) => html`<p key=${o.id} class="return-opinion" data-testid="return-opinion" data-kind=${o.kind} data-removal=${String(o.removal)}>
      <strong>${t(o.removal ? 'verdict.ui.return_removal' : `verdict.ui.return_${o.kind}`, { stage: o.stage ? t(`verdict.stage.${o.stage}`) : '' })}</strong>：${o.opinion}</p>`)}
    ${!online && html`<p class="muted">${t('applyOnline')}</p>`}
    ${online && open.length === 0 && !submitted && html`<p class="muted" data-testid="apply-submit-first">${t('problem_self_assessment_not_submitted')}</p>`}
    ${online && open.length === 0 && submitted && html`<div class="row">
      ${applyTiers(ctx.bundle).map((tier, i) => html`<button type="button" key=${tier} class=${i === 0 ? 'btn primary' : 'btn'}
        data-testid=${`apply-${tier}`} onClick=${() => setAsking(tier)}>${t(tier === 'demonstration' ? 'reportToCity' : 'applyFor', { tier: t(`tier_${tier}`) })}</button>`)}
    </div>`}
    <${Confirm} t=${t} open=${Boolean(asking)} title=${asking ? t('applyFor', { tier: t(`tier_${asking}`) }) : ''}
      happens=${[t('nav.confirm.applyHappens', { tier: asking ? t(`tier_${asking}`) : '' })]}
      missing=${missing} final=${[t('nav.confirm.applyFinal')]} okLabel=${t('nav.confirm.applyOk')}
      onCancel=${() => setAsking(null)} onOk=${() => { const tier = asking; setAsking(null); apply(tier); }} />
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
  </section>`;
}

const LINKS_SHOWN = 24;

function SubmitPanel({ ctx }) {
  const app = useApp();
  const t = app.state.t;
  const [asking, setAsking] = useState(false);
  if (ctx.readOnly && !LOCKED.has(ctx.inspection.status)) return null;
  if (ctx.locked) return html`<section class="submit card"><p class="ok-text" data-testid="submitted">${t('submitted')}</p></section>`;
  const self = ctx.inspection.stage === 'self';
  const id = ctx.inspection.id;
  const photosUnsent = unsentPhotoCount(app.state.photos.value, id);
  // a queued change of this inspection (or one naming none) or a file still to send: the server has not seen it
  const unsent = photosUnsent > 0 || app.state.pending.value.some((m) => !m.args?.inspectionId || m.args.inspectionId === id);
  const blockers = blockersOf(app.state.view.value, id, ctx.checklist, {
    receipt: app.state.receipts.value.get(id), version: app.state.confirmed.value.get(`inspection/${id}`)?.version, unsent,
  });
  const na = [...ctx.answers.values()].filter((a) => a.na).length;
  const label = self ? t('submitSelf') : t('submit');
  return html`<section class="submit card" id="submit">
    ${blockers.length > 0 && html`<div data-testid="submit-blockers"><p>${t('blockers')}</p>
      <ul>${blockers.map((b, i) => html`<li key=${i}>${t(b.key, b.params)}
        ${(b.links || []).length > 0 && html`<span class="blocker-links">${b.links.slice(0, LINKS_SHOWN).map((item) => html`<a
          href=${`#/i/${ctx.inspection.id}`} class="blocker-link" data-testid="blocker-link" data-item=${item} key=${item}
          onClick=${(e) => { e.preventDefault(); ctx.jump(item); }}>${item}</a>`)}${b.links.length > LINKS_SHOWN ? ' …' : ''}</span>`}
      </li>`)}</ul></div>`}
    <${Button} testid="submit-inspection" kind="primary wide" disabled=${blockers.length > 0}
      onClick=${() => setAsking(true)}>${label}<//>
    <${Confirm} t=${t} open=${asking} title=${label}
      happens=${[t(self ? 'nav.confirm.submitSelfHappens' : 'nav.confirm.submitHappens', { n: ctx.facts.size }),
        app.state.online.value ? t('nav.confirm.sendNow') : t('nav.confirm.sendLater')]}
      missing=${[photosUnsent && t('nav.confirm.photosUnsent', { n: photosUnsent }), na && t('nav.confirm.naCount', { n: na })].filter(Boolean)}
      final=${[t('nav.confirm.submitFinal')]} okLabel=${t('nav.confirm.submitOk')}
      onCancel=${() => setAsking(false)} onOk=${() => { setAsking(false); app.actions.submitInspection(ctx.inspection.id); }} />
  </section>`;
}

function Section({ ctx, section, depth }) {
  const app = useApp();
  const Heading = depth === 0 ? 'h2' : 'h3';
  if ((ctx.order.sections.get(section.code) ?? 0) >= ctx.shown) return null;
  // a search or filter shows only the sections holding a match
  if (ctx.match && !ctx.order.members.get(section.code)?.some((n) => ctx.match.has(n))) return null;
  return html`<section class=${`section depth-${depth}`} data-testid="section" data-section=${section.code}>
    <${Heading}><span class="num">${section.code}</span> ${section.title}<//>
    ${(section.articles || []).filter((a) => ctx.order.articles.get(a.number) < ctx.shown && (!ctx.match || ctx.match.has(a.number))).map((a) => html`<${Article} key=${a.number} ctx=${ctx} article=${a}
      sig=${articleSig(ctx, a, app.state.lang.value, app.state.progress.value)} />`)}
    ${(section.sections || []).map((s) => html`<${Section} key=${s.code} ctx=${ctx} section=${s} depth=${depth + 1} />`)}
  </section>`;
}

// Some article wants photos that carry where they were taken (the checklist says which).
function needsPlace(checklist) {
  return checklist.articles.some((a) => a.requireLocation && a.minPhotos > 0);
}


export function Inspection({ id }) {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const view = state.view.value;
  const inspection = view.get(`inspection/${id}`);
  const raters = [];
  const [rater, setRater] = useState(null);
  const [shown, setShown] = useState(FIRST_SLICE);
  const place = useMemo(() => loadPlace(id), [id]);
  const [query, setQuery] = useState(place.query || '');
  const [filters, setFilters] = useState(place.filters || {});
  const [indexOpen, setIndexOpen] = useState(false);
  const [target, setTarget] = useState(place.item || null); // an article to scroll to once rendered
  const standardId = inspection?.standardVersionId;
  const bundleForOrder = state.standards.value.get(standardId);
  const order = useMemo(() => readingOrder(bundleForOrder), [bundleForOrder]);
  useEffect(() => {
    if (shown >= order.articles.size) return undefined;
    // a jump (or a place kept from before a reload) renders everything at once, then scrolls
    const timer = setTimeout(() => setShown((n) => (target ? order.articles.size : n + SLICE)), 0);
    return () => clearTimeout(timer);
  }, [shown, order, target]);
  useEffect(() => {
    if (!target || !order.articles.size || shown < order.articles.size) return;
    scrollToArticle(target); // an article hidden by a kept filter stays where the list starts
    setTarget(null);
  });
  // the article at the top of the screen is the place kept across reloads
  const placeTimer = useRef(null);
  useEffect(() => {
    const onScroll = () => {
      clearTimeout(placeTimer.current);
      placeTimer.current = setTimeout(() => {
        const item = articleAtTop();
        if (item) savePlace(id, { item });
      }, 250);
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      clearTimeout(placeTimer.current);
      window.removeEventListener('scroll', onScroll);
    };
  }, [id]);
  if (!inspection) return html`<main class="page"><a class="btn link" href="#/tasks">← ${t('back')}</a><p class="card empty">${t('noAssignments')}</p></main>`;
  const bundle = state.standards.value.get(inspection.standardVersionId);
  const checklist = state.checklists.value.get(inspection.standardVersionId);
  const facility = view.get(`facility/${inspection.facilityId}`);
  if (!bundle || !checklist) {
    return html`<main class="page"><a class="btn link" href="#/tasks">← ${t('back')}</a>
      <h1>${facility?.name || ''}</h1><p class="card empty">${t('syncing')}</p></main>`;
  }
  const mode = checklist.answerKind;
  raters.push(...checklist.raters);
  const activeRater = raters.length ? rater || raters[0].code : null;
  const listed = state.assignments.value.find((a) => a.inspectionId === id);
  const role = state.session.value?.user?.role;
  const local = state.photos.value;
  const receipt = state.receipts.value.get(id);
  const photos = mergedPhotos(view, id, { local, receipt, teamThumbs: state.teamThumbs.value });
  const conflicts = openConflictsOf(view, id);
  const resolved = resolvedConflictsOf(view, id);
  const user = state.session.value?.user;
  const readOnly = readOnlyReason(user, inspection, listed);
  const ctx = {
    inspection, bundle, checklist, entries: checklistArticles(checklist), mode, rater: activeRater, order, shown, readOnly,
    locked: LOCKED.has(inspection.status) || Boolean(readOnly),
    // changes the server refused, shown at the article they concern
    refusalsByItem: refusalsByItem(state.rejections.value, id),
    answers: answersOf(view, id),
    notesByItem: groupBy(notesOf(view, id), 'itemCode'),
    photosByItem: groupBy(photos, 'itemCode'),
    resolvedByItem: new Map(resolved.map((c) => [c.itemCode, c])),
    methods: new Map((bundle.evaluationMethods || []).map((m) => [m.code, m.label])),
    // a review's lead (or the office) decides; a self-assessment has no team: the staff member the facility
    // designated decides (backend/accounts/resolvers.py), any of its accounts when none is designated
    canResolve: role === 'office' || role === 'admin' || Boolean(listed?.isLead)
      || (role === 'clinic' && inspection.stage === 'self' && !readOnly && (!listed?.resolver || listed.resolver.userId === user?.id)),
    resolver: inspection.stage === 'self' ? listed?.resolver || null : null,
    userName: (userId) => knownName(listed, user, userId),
  };
  const progress = progressOf(view, id, checklist, activeRater);
  const articleCount = walkSections(bundle.sections).length;
  const facts = articleFacts(view, id, bundle, checklist, activeRater, receipt);
  const match = matchArticles(facts, query, filters);
  ctx.facts = facts;
  ctx.match = match;
  if (match && shown < order.articles.size) ctx.shown = order.articles.size;
  const jump = (item) => {
    if (match && !match.has(item)) {
      setQuery('');
      setFilters({});
      savePlace(id, { query: '', filters: {} });
    }
    setIndexOpen(false);
    setShown(order.articles.size);
    setTarget(item);
    savePlace(id, { item });
  };
  ctx.jump = jump;
  const onQuery = (q) => {
    setQuery(q);
    savePlace(id, { query: q });
  };
  const onFilter = (f) => {
    const next = { ...filters, [f]: !filters[f] };
    setFilters(next);
    savePlace(id, { filters: next });
  };
  const onClear = () => {
    setQuery('');
    setFilters({});
    savePlace(id, { query: '', filters: {} });
  };
  const next = nextUnanswered(facts, null);
  return html`<main class="page inspection" data-inspection-id=${id}>
    <a class="btn link" href="#/tasks">← ${t('back')}</a>
    <header class="inspection-head card">
      <h1>${facility?.name || listed?.facilityName || ''}</h1>
      <p class="meta"><span class="badge stage">${t(`stage_${inspection.stage}`)}</span>
        <span class=${`badge status-${inspection.status}`}>${t(`status_${inspection.status}`)}</span>
        <span>${bundle.name}</span></p>
      <div class="progress-line"><span data-testid="progress">${t('answeredOf', { a: progress.answered, b: articleCount })}</span>
        <progress max=${articleCount || 1} value=${progress.answered} aria-label=${t('progress')}></progress></div>
      ${raters.length > 0 && html`<label class="field inline"><span>${t('rater')}</span>
        <select data-testid="rater" value=${activeRater} onChange=${(e) => setRater(e.currentTarget.value)}>
          ${raters.map((r) => html`<option value=${r.code} key=${r.code}>${r.label}</option>`)}</select></label>`}
      ${inspection.stage === 'self' && role === 'clinic' && mode === 'graded' && html`<p><a class="btn small" href=${`#/plan/${id}`} data-testid="plan-link">${t('planTitle')}</a></p>`}
      <${Finder} query=${query} filters=${filters} matched=${match ? match.size : facts.size}
        onQuery=${onQuery} onFilter=${onFilter} onClear=${onClear} />
    </header>
    ${!ctx.locked && needsPlace(checklist) && html`<${LocationNote} />`}
    ${readOnly && !LOCKED.has(inspection.status) && html`<p class="banner info" role="note" data-testid="read-only" data-reason=${readOnly}>
      ${t('nav.readonly.title')} ${t(readOnly)}</p>`}
    <${Conflicts} ctx=${ctx} conflicts=${conflicts} />
    <${Opinions} ctx=${ctx} />
    <${Apply} ctx=${ctx} />
    <${Prerequisites} ctx=${ctx} />
    <${Vetoes} ctx=${ctx} />
    <${Fixes} ctx=${ctx} />
    ${(bundle.sections || []).map((s) => html`<${Section} key=${s.code} ctx=${ctx} section=${s} depth=${0} />`)}
    <${PointsSummary} ctx=${ctx} />
    <${OwnTargets} ctx=${ctx} />
    <${SchoolAppraisal} ctx=${ctx} />
    <${SubmitPanel} ctx=${ctx} />
    <${NavBar} answered=${progress.answered} total=${articleCount} allDone=${!next}
      onIndex=${() => setIndexOpen(true)} onNext=${() => { const n = nextUnanswered(facts, articleAtTop()); if (n) jump(n); }} />
    <${SectionIndex} open=${indexOpen} sections=${indexOpen ? sectionProgress(bundle, facts) : []}
      facts=${facts} onJump=${jump} onClose=${() => setIndexOpen(false)} />
  </main>`;
}
