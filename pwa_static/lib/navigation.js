// Finding one's way in a long inspection, read from the view, the standard and its checklist (no I/O): progress per
// section, the filters, search by code or words, and the next unanswered article.
import { answeredOf, answersOf, checklistArticles, itemOf, openConflictsOf, photosOf, walkSections } from './inspection.js';

export const FILTERS = ['unanswered', 'evidence', 'conflict', 'flagged'];

// Per article what the index and the filters need: answered, photos counted against the minimum, in
// conflict, flagged (a photo with an evidence flag or one that does not count).
export function articleFacts(view, inspectionId, bundle, checklist, rater, receipt) {
  const entries = checklistArticles(checklist);
  const answers = answersOf(view, inspectionId);
  const answeredFor = answeredOf(answers, checklist);
  const conflicted = new Set(openConflictsOf(view, inspectionId).map((c) => c.itemCode));
  const receiptPhotos = new Map((receipt?.photos || []).map((p) => [p.photoId, p]));
  const photos = new Map();
  for (const photo of photosOf(view, inspectionId)) {
    if (!photos.has(photo.itemCode)) photos.set(photo.itemCode, []);
    photos.get(photo.itemCode).push(photo);
  }
  const facts = new Map();
  for (const { article, chain } of walkSections(bundle?.sections)) {
    const rules = entries.get(article.number);
    const item = itemOf(rules, rater, article.number);
    const mine = photos.get(article.number) || [];
    // an article answered N/A needs no photos (its own item code, as countBlockers reads it)
    const need = answers.get(article.number)?.na ? 0 : rules?.minPhotos ?? 0;
    const flagged = mine.some((p) => {
      const server = receiptPhotos.get(p.id);
      const notCounted = (server?.notCounted || []).filter((w) => w !== 'not_received');
      return (p.flags || server?.flags || []).length > 0 || notCounted.length > 0;
    });
    facts.set(article.number, {
      article,
      chain,
      answered: answeredFor(rules, rater, article.number),
      have: mine.length,
      need,
      short: Math.max(0, need - mine.length),
      conflict: conflicted.has(item) || conflicted.has(article.number),
      flagged,
    });
  }
  return facts;
}

// Each top-level section with its sub-sections: answered / total and photos still short.
export function sectionProgress(bundle, facts) {
  const sum = (section) => {
    const numbers = walkSections([section]).map((e) => e.article.number);
    const rows = numbers.map((n) => facts.get(n)).filter(Boolean);
    return {
      code: section.code,
      title: section.title,
      total: rows.length,
      answered: rows.filter((r) => r.answered).length,
      short: rows.reduce((n, r) => n + r.short, 0),
      articles: numbers,
    };
  };
  return (bundle?.sections || []).map((section) => ({
    ...sum(section),
    children: (section.sections || []).map(sum),
  }));
}

function normal(text) {
  return String(text || '').toLowerCase().replace(/\s+/g, '');
}

// The article numbers that pass the search (code prefix or words in title, requirements, documents) and
// every chosen filter; null when nothing is chosen (everything shows).
export function matchArticles(facts, query, filters) {
  const q = normal(query);
  const chosen = FILTERS.filter((f) => filters?.[f]);
  if (!q && !chosen.length) return null;
  const out = new Set();
  for (const [number, f] of facts) {
    if (chosen.includes('unanswered') && f.answered) continue;
    if (chosen.includes('evidence') && !f.short) continue;
    if (chosen.includes('conflict') && !f.conflict) continue;
    if (chosen.includes('flagged') && !f.flagged) continue;
    if (q) {
      const a = f.article;
      const words = [a.title, ...(a.levels || []).flatMap((l) => (l.items || []).map((i) => i.text)), ...(a.evidence?.docs || [])];
      // a code matches by whole segments: "2.1" finds 2.1.x, "2.2.1" finds 2.2.1 but not 2.2.10
      const code = normal(number);
      const byCode = code === q.replace(/\.$/, '') || code.startsWith(q.endsWith('.') ? q : `${q}.`);
      if (!byCode && !words.some((w) => normal(w).includes(q))) continue;
    }
    out.add(number);
  }
  return out;
}

// The first unanswered article after `from` in reading order, wrapping around; null when all are answered.
export function nextUnanswered(facts, from) {
  const numbers = [...facts.keys()];
  const start = from ? numbers.indexOf(from) + 1 : 0;
  for (let i = 0; i < numbers.length; i += 1) {
    const number = numbers[(start + i) % numbers.length];
    if (!facts.get(number).answered) return number;
  }
  return null;
}

// The standard's reading order: each article's index, each section's first article index (to skip empty
// sections) and the article numbers inside each section (at any depth).
export function readingOrder(bundle) {
  const articles = new Map();
  const sections = new Map();
  const members = new Map();
  walkSections(bundle?.sections).forEach(({ article, chain }, index) => {
    articles.set(article.number, index);
    for (const section of chain) {
      if (!sections.has(section.code)) sections.set(section.code, index);
      if (!members.has(section.code)) members.set(section.code, []);
      members.get(section.code).push(article.number);
    }
  });
  return { articles, sections, members };
}
