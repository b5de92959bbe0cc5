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

// What keeps the inspection from being submitted, counted on this device against the server's checklist (for
// changes the server has not seen; its receipt's `blockers` say the same of what it has). Every code the
// checklist lists must be answered (a rater's article also by the rater's overall answer, `answeredOf`); an
// article answered N/A needs no evidence; a document counts toward its
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
  if (unanswered.length) {
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
