// Pure reading of an inspection from the view, its standard (what it says) and the server's checklist (its rules
// as data): articles, answers, evidence, blockers counted. No rule is decided here (tests/pwa_static/test_modules.py).

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

// The server's checklist (GET /api/standards/{id}/checklist: the standard's submit rules as data) by article.
export function checklistArticles(checklist) {
  return new Map((checklist?.articles || []).map((a) => [a.number, a]));
}

// The item code an article's answer is stored under, for the rater answering (the checklist names it).
export function itemOf(entry, rater, number) {
  const items = entry?.items || {};
  return items[rater || ''] ?? Object.values(items)[0] ?? number;
}

// Whether an article is answered for a rater: by its own item code, or by the rater's overall answer (the
// checklist's `raters[].overall`: an item code whose answer stands for each of the rater's articles).
export function answeredOf(answers, checklist) {
  const overall = new Map((checklist?.raters || []).filter((r) => r.overall).map((r) => [r.code, r.overall]));
  return (entry, rater, number) => {
    if (isAnswered(answers.get(itemOf(entry, rater, number)))) return true;
    const items = entry?.items || {};
    const key = Object.hasOwn(items, rater || '') ? rater || '' : Object.keys(items)[0];
    return overall.has(key) && isAnswered(answers.get(overall.get(key)));
  };
}

// Evidence of a type the checklist lists as a document (a ledger), not a photo.
export function isDocumentOf(checklist, mime) {
  return Object.hasOwn(checklist?.documentTypes || {}, mime || '');
}

function byPrefix(view, prefix) {
  const out = [];
  for (const [key, value] of view) if (key.startsWith(prefix)) out.push(value);
  return out;
}

export function answersOf(view, inspectionId) {
  const answers = new Map(); // itemCode -> {value, na, version, saving}
  for (const register of byPrefix(view, `answer/${inspectionId}/`)) {
    const entry = answers.get(register.itemCode) || { value: null, na: false, version: 0, naVersion: 0, saving: false };
    entry.saving ||= register.saving === true;
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
export function assignmentCards({ view, assignments, standards, checklists, photos, pending }) {
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
    const checklist = checklists.get(inspection.standardVersionId);
    const local = checklist ? progressOf(view, inspection.id, checklist) : null;
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

export function progressOf(view, inspectionId, checklist, rater) {
  const answers = answersOf(view, inspectionId);
  const articles = checklist?.articles || [];
  const answeredFor = answeredOf(answers, checklist);
  const answered = articles.filter((a) => answeredFor(a, rater, a.number)).length;
  return { answered, total: articles.length };
}

function listed(items) {
  return items.slice(0, 8).join('、') + (items.length > 8 ? '…' : '');
}

// A rater answered both by its overall answer (the checklist's `raters[].overall`) and by its own articles' item
// codes: the server finds such answers not fitting the standard (blockerInvalid), and says it with the same code
// and params (sync/readiness.py): the articles answered, named, whose answers do not count.
function answeredBothWays(answers, checklist) {
  const out = [];
  for (const rater of checklist.raters || []) {
    if (!rater.overall || !isAnswered(answers.get(rater.overall))) continue;
    const both = checklist.articles
      .filter((a) => Object.hasOwn(a.items, rater.code) && isAnswered(answers.get(a.items[rater.code])))
      .map((a) => a.number);
    if (both.length) {
      const detail = { code: 'invalidRaterBothWays', params: { rater: rater.label, n: both.length, items: listed(both) } };
      out.push({ key: 'blockerInvalid', params: { detail }, links: both });
    }
  }
  return out;
}

// What keeps the inspection from being submitted, counted on this device against the server's checklist (for
// changes the server has not seen; its receipt's `blockers` say the same of what it has). Every code the
// checklist lists must be answered (a rater's article also by the rater's overall answer, `answeredOf`), and not
// both ways (`answeredBothWays`: then, as the server, no article is named unanswered until that is fixed: those
// articles are answered, only invalidly); an article answered N/A needs no evidence; a document counts toward its
// article's minDocuments, a photo toward its minPhotos. The codes and params are the server's (sync/readiness.py).
export function countBlockers(view, inspectionId, checklist) {
  const answers = answersOf(view, inspectionId);
  const photos = photosOf(view, inspectionId);
  const unansweredOf = (codes) => (codes || []).filter((code) => !isAnswered(answers.get(code)));
  const blockers = [];
  const prerequisites = unansweredOf(checklist.prerequisites);
  if (prerequisites.length) blockers.push({ key: 'blockerPrereq', params: { items: prerequisites.join('、') } });
  const vetoes = unansweredOf(checklist.vetoes);
  if (vetoes.length) blockers.push({ key: 'blockerVeto', params: { items: vetoes.join('、') } });
  const articleOf = new Map();
  for (const a of checklist.articles) for (const code of Object.values(a.items)) articleOf.set(code, a.number);
  const answeredFor = answeredOf(answers, checklist);
  const unanswered = checklist.articles
    .filter((a) => Object.keys(a.items).some((rater) => !answeredFor(a, rater, a.number)))
    .map((a) => a.number);
  const invalid = answeredBothWays(answers, checklist);
  blockers.push(...invalid);
  if (unanswered.length && !invalid.length) {
    // `links`: the articles a blocker names, each a link to its article on screen
    blockers.push({ key: 'blockerUnanswered', params: { n: unanswered.length, items: listed(unanswered) }, links: unanswered });
  }
  for (const conflict of openConflictsOf(view, inspectionId)) {
    blockers.push({ key: 'blockerConflict', params: { item: conflict.itemCode }, links: [articleOf.get(conflict.itemCode) || conflict.itemCode] });
  }
  for (const a of checklist.articles) {
    if (answers.get(a.number)?.na) continue;
    const mine = photos.filter((p) => p.itemCode === a.number);
    const docs = mine.filter((p) => isDocumentOf(checklist, p.mime)).length;
    const have = mine.length - docs;
    if (have < a.minPhotos) blockers.push({ key: 'blockerEvidence', params: { item: a.number, have, need: a.minPhotos }, links: [a.number] });
    if (docs < a.minDocuments) blockers.push({ key: 'blockerDocuments', params: { item: a.number, have: docs, need: a.minDocuments }, links: [a.number] });
  }
  return blockers;
}

// The blockers to show: the server's (its receipt, judged as its submit judges) when this device has nothing
// unsent for the inspection and the receipt is of the version held here; else counted here.
export function blockersOf(view, inspectionId, checklist, { receipt, version, unsent }) {
  if (!unsent && receipt && receipt.version === version && Array.isArray(receipt.blockers)) {
    return receipt.blockers.map((b) => ({ key: b.code, params: b.params, links: b.links }));
  }
  return countBlockers(view, inspectionId, checklist);
}
