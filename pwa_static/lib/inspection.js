// Pure reading of an inspection from the view and its standard: articles, answers, evidence, blockers.

export function walkSections(sections, chain = [], out = []) {
  for (const section of sections || []) {
    const here = [...chain, section];
    for (const article of section.articles || []) out.push({ article, chain: here });
    walkSections(section.sections, here, out);
  }
  return out;
}

export function articlesOf(bundle) {
  return walkSections(bundle?.sections).map((entry) => entry.article);
}

export function scoringMode(bundle) {
  const scoring = bundle?.scoring || {};
  if (scoring.mode === 'weighted') return 'passfail';
  return scoring.mode || 'graded';
}

export function raterCodes(bundle) {
  const groups = bundle?.scoring?.groups || [];
  return groups.flatMap((g) => g.raters.map((r) => ({ code: r.code, label: r.label })));
}

// Grade buttons in the standard's own order of rank, best first (A B C D).
export function gradeCodes(bundle) {
  const grades = bundle?.scoring?.grades || [];
  return [...grades].sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0)).map((g) => g.code);
}

export function minPhotos(bundle, article) {
  const own = article?.evidence?.minPhotos;
  if (typeof own === 'number') return own;
  return bundle?.evidenceDefaults?.minPhotos ?? 0;
}

function byPrefix(view, prefix) {
  const out = [];
  for (const [key, value] of view) if (key.startsWith(prefix)) out.push(value);
  return out;
}

export function answersOf(view, inspectionId) {
  const answers = new Map(); // itemCode -> {value, na, version}
  for (const register of byPrefix(view, `answer/${inspectionId}/`)) {
    const entry = answers.get(register.itemCode) || { value: null, na: false, version: 0, naVersion: 0 };
    if (register.field === 'na') Object.assign(entry, { na: register.value === true, naVersion: register.version || 0 });
    else Object.assign(entry, { value: register.value, version: register.version || 0, conflictId: register.conflictId });
    answers.set(register.itemCode, entry);
  }
  return answers;
}

export function isAnswered(entry) {
  return Boolean(entry) && (entry.na || (entry.value !== null && entry.value !== undefined && entry.value !== ''));
}

export function notesOf(view, inspectionId) {
  return byPrefix(view, 'note/').filter((n) => n.inspectionId === inspectionId);
}

export function photosOf(view, inspectionId) {
  return byPrefix(view, 'photo/').filter((p) => p.inspectionId === inspectionId);
}

// The view model of an inspection's photos, as its screen shows them: each synced photo row merged with this
// device's own record of it (`local`: photoId → its upload state and thumbnail) and with the server's receipt
// (its state, flags, why it does not count toward the article's minimum: `notCounted`); a teammate's photo
// takes the server's thumbnail kept on this device (`teamThumbs`).
export function mergedPhotos(view, inspectionId, { local, receipt, teamThumbs }) {
  const receiptStates = new Map((receipt?.photos || []).map((p) => [p.photoId, p]));
  return photosOf(view, inspectionId).map((p) => {
    const mine = local.get(p.id);
    const server = receiptStates.get(p.id);
    const remoteState = server ? ({ awaiting_upload: 'queued' }[server.state] || server.state) : 'received';
    const notCounted = server?.notCounted || [];
    return mine
      ? { ...mine, caption: p.caption, flags: server?.flags || mine.flags || [], notCounted }
      : { photoId: p.id, itemCode: p.itemCode, size: p.size, caption: p.caption, state: remoteState, flags: server?.flags || [], reason: server?.reason, notCounted,
        thumb: teamThumbs.get(p.id) || null, remote: true };
  });
}

export function openConflictsOf(view, inspectionId) {
  return byPrefix(view, 'conflict/').filter((c) => c.inspectionId === inspectionId && c.status === 'open');
}

export function resolvedConflictsOf(view, inspectionId) {
  return [...view.values()].filter((v) => v && v.registerKey && v.inspectionId === inspectionId && v.status === 'resolved');
}

// The changes of this inspection the server refused, by the article they concern (a weighted standard's
// "<rater>:<article>" item under its article).
export function refusalsByItem(rejections, inspectionId) {
  const mine = rejections.filter((r) => r.args?.inspectionId === inspectionId && r.args?.itemCode);
  return groupBy(mine.map((r) => ({ ...r, itemCode: r.args.itemCode.split(':').pop() })), 'itemCode');
}

// The inspections whose receipts this device asks for: those with photos that this user works on (a team's
// member, the office, a clinic's own self-assessment; a clinic also holds its returned reviews, whose receipts
// are the office's) or that hold photos of this device.
export function receiptInspections({ me, assignments, photos, confirmed }) {
  const works = new Set(
    assignments
      .filter((a) => me?.role === 'office' || me?.role === 'admin' || (a.stage === 'self' && me?.role === 'clinic')
        || (a.team || []).some((m) => m.userId === me?.id))
      .map((a) => a.inspectionId),
  );
  for (const p of photos.values()) works.add(p.inspectionId);
  const withPhotos = new Set([...confirmed.values()].filter((v) => v?.sha256 && v.inspectionId).map((v) => v.inspectionId));
  return [...works].filter((id) => withPhotos.has(id));
}

// The task list's cards: each inspection held on this device (from pull) joined with the server's list (names,
// counts), its progress (this device's when the standard is here, else the server's), photos still to send,
// changes queued, and its improvement plan's done/total.
export function assignmentCards({ view, assignments, standards, photos, pending }) {
  const listed = new Map(assignments.map((a) => [a.inspectionId, a]));
  const held = [];
  const plans = new Map(); // inspectionId -> {done, total}
  for (const [key, value] of view) {
    if (key.startsWith('inspection/')) held.push(value);
    if (!key.startsWith('improvement/')) continue;
    const count = plans.get(value.inspectionId) || { done: 0, total: 0 };
    count.total += 1;
    count.done += value.status === 'done' ? 1 : 0;
    plans.set(value.inspectionId, count);
  }
  const own = [...photos.values()];
  return held.map((inspection) => {
    const listedRow = listed.get(inspection.id) || {};
    const facility = view.get(`facility/${inspection.facilityId}`);
    const bundle = standards.get(inspection.standardVersionId);
    const local = bundle ? progressOf(view, inspection.id, bundle) : null;
    const answered = local ? local.answered : listedRow.answeredCount ?? 0;
    const total = local ? local.total : listedRow.articleCount ?? 0;
    const toSend = own.filter((p) => p.inspectionId === inspection.id && p.hasBytes && p.state !== 'stored' && p.state !== 'rejected').length;
    const queued = pending.filter((m) => m.args?.inspectionId === inspection.id).length;
    return { inspection, listedRow, facility, bundle, answered, total, toSend, queued, planCount: plans.get(inspection.id) };
  });
}

// This device's photos of the inspection whose bytes have not reached the server yet.
export function unsentPhotoCount(photos, inspectionId) {
  return [...photos.values()].filter((p) => p.inspectionId === inspectionId
    && p.hasBytes && !['stored', 'received', 'rejected'].includes(p.state)).length;
}

export function groupBy(items, key) {
  const map = new Map();
  for (const item of items) {
    const k = item[key];
    if (!map.has(k)) map.set(k, []);
    map.get(k).push(item);
  }
  return map;
}

export function opinionsOf(view, inspectionId, facilityId) {
  return byPrefix(view, 'opinion/').filter(
    (o) => o.inspectionId === inspectionId || (facilityId && o.facilityId === facilityId),
  );
}

// The item code an answer is stored under: weighted standards are answered per rater ("rater:article").
export function answerItem(mode, rater, number) {
  return mode === 'passfail' && rater ? `${rater}:${number}` : number;
}

export function progressOf(view, inspectionId, bundle, rater) {
  const mode = scoringMode(bundle);
  const answers = answersOf(view, inspectionId);
  const articles = articlesOf(bundle);
  const answered = articles.filter((a) => isAnswered(answers.get(answerItem(mode, rater, a.number)))).length;
  return { answered, total: articles.length };
}

// the ledger types (lib/documents.js says the same; this module stays free of the view code)
const LEDGER_MIMES = new Set([
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
]);

export function blockersOf(view, inspectionId, bundle, rater) {
  const mode = scoringMode(bundle);
  const answers = answersOf(view, inspectionId);
  const photos = photosOf(view, inspectionId);
  const blockers = [];
  const prerequisites = (bundle?.prerequisites || []).filter((p) => !isAnswered(answers.get(p.id)));
  if (prerequisites.length) blockers.push({ key: 'blockerPrereq', params: { items: prerequisites.map((p) => p.id).join('、') } });
  // points mode: every one-vote veto item answered (the server's submit rule asks the same)
  const vetoes = mode === 'points' ? (bundle?.vetoItems || []).filter((v) => !isAnswered(answers.get(v.id))) : [];
  if (vetoes.length) blockers.push({ key: 'blockerVeto', params: { items: vetoes.map((v) => v.id).join('、') } });
  const articles = articlesOf(bundle);
  const unanswered = articles.filter((a) => !isAnswered(answers.get(answerItem(mode, rater, a.number))));
  if (unanswered.length) {
    const items = unanswered.slice(0, 8).map((a) => a.number).join('、') + (unanswered.length > 8 ? '…' : '');
    // `links`: the articles a blocker names, each a link to its article on screen
    blockers.push({ key: 'blockerUnanswered', params: { n: unanswered.length, items }, links: unanswered.map((a) => a.number) });
  }
  for (const conflict of openConflictsOf(view, inspectionId)) {
    blockers.push({ key: 'blockerConflict', params: { item: conflict.itemCode }, links: [conflict.itemCode.split(':').pop()] });
  }
  for (const article of articles) {
    if (answers.get(article.number)?.na) continue;
    const mine = photos.filter((p) => p.itemCode === article.number);
    // a ledger (PDF/DOCX/XLSX) counts toward the article's minDocuments only, a photo toward its minPhotos only
    const need = minPhotos(bundle, article);
    const have = mine.filter((p) => !LEDGER_MIMES.has(p.mime)).length;
    if (need && have < need) blockers.push({ key: 'blockerEvidence', params: { item: article.number, have, need }, links: [article.number] });
    const needDocs = article?.evidence?.minDocuments ?? bundle?.evidenceDefaults?.minDocuments ?? 0;
    const haveDocs = mine.filter((p) => LEDGER_MIMES.has(p.mime)).length;
    if (needDocs && haveDocs < needDocs) {
      blockers.push({ key: 'blockerDocuments', params: { item: article.number, have: haveDocs, need: needDocs }, links: [article.number] });
    }
  }
  return blockers;
}
