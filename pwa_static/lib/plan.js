// The improvement plan's view model (views/plan.js draws it): its items, kinds, article index, suggestions from
// weak grades, overdue items and open field conflicts, as pure functions of the view and the kept targets.
import { walkSections } from './inspection.js';

export const KINDS = ['soon', 'continuous', 'needs_support'];
// the seed's words for the codes (docs/improvement.md): the server stores a programme's kind so named as the code
const CODE_OF_LABEL = { 近期能够实现: 'soon', 持续改进: 'continuous', 需要政府或部门支持: 'needs_support' };

// The plan's kinds: the protocol's codes, then the programme's own (its settings' improvementListKinds, as the
// result page offers them), then any an item already carries.
export function planKinds(bundle, items = []) {
  const kinds = [...KINDS];
  for (const k of [...(bundle?.programmeSettings?.improvementListKinds || []), ...items.map((i) => i.kind)]) {
    const kind = CODE_OF_LABEL[k] || k;
    if (kind && !kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

export function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function isOverdue(item, today = todayIso()) {
  return item.status !== 'done' && Boolean(item.dueDate) && item.dueDate < today;
}

export function articleIndex(bundle) {
  const index = new Map(); // number -> {article, chapter}
  for (const { article, chain } of walkSections(bundle?.sections)) index.set(article.number, { article, chapter: chain[0] });
  return index;
}

export function planItems(view, inspectionId) {
  const items = [];
  for (const [key, value] of view) if (key.startsWith('improvement/') && value.inspectionId === inspectionId) items.push(value);
  return items.sort((a, b) => (a.itemCode === b.itemCode ? String(a.id).localeCompare(String(b.id)) : a.itemCode.localeCompare(b.itemCode, undefined, { numeric: true })));
}

// Suggested items: articles graded below the plan's target (ranks and targets as the server sent them), not
// yet in the plan and not N/A.
export function planSuggestions({ grades, targets, items, index }) {
  const ranks = targets?.ranks || null;
  const planned = new Set(items.map((i) => i.itemCode));
  const suggestions = [];
  for (const [number, target] of Object.entries(targets?.targets || {})) {
    const entry = grades.get(number);
    const grade = entry?.na ? null : entry?.value;
    if (planned.has(number) || typeof grade !== 'string' || !(grade in ranks) || ranks[grade] >= ranks[target]) continue;
    suggestions.push({ number, grade, target, title: index.get(number)?.article.title || '' });
  }
  return suggestions;
}

// The plan's open field conflicts (improvement/<id>/<field> registers).
export function improvementConflictsOf(view, inspectionId) {
  return [...view.values()].filter((v) => v?.registerKey?.startsWith('improvement/') && v.status === 'open' && v.inspectionId === inspectionId);
}
