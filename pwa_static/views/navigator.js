// Finding one's way in a long inspection: search and filters, the section index (a sheet with progress per
// section and every article), "next unanswered", and the place kept across reloads.
import { html } from '../lib/html.js';
import { FILTERS } from '../lib/navigation.js';
import { useEffect, useRef } from '../vendor/preact/hooks.js';
import { useApp } from '../lib/app_context.js';

const PLACE_KEY = 'fieldcheck.place.';

// Where the user was in an inspection (the article at the top of the screen, the search and filters),
// kept on the device so a reload or a restart opens at the same place.
export function loadPlace(inspectionId) {
  try {
    return JSON.parse(localStorage.getItem(PLACE_KEY + inspectionId) || 'null') || {};
  } catch {
    return {};
  }
}

export function savePlace(inspectionId, patch) {
  const next = { ...loadPlace(inspectionId), ...patch };
  localStorage.setItem(PLACE_KEY + inspectionId, JSON.stringify(next));
  return next;
}

// The article whose card is at the top of the viewport (below the sticky header).
export function articleAtTop() {
  const top = (document.querySelector('.top')?.getBoundingClientRect().bottom || 0) + 8;
  for (const el of document.querySelectorAll('[data-testid=article]')) {
    if (el.getBoundingClientRect().bottom > top) return el.dataset.item;
  }
  return null;
}

export function scrollToArticle(item) {
  const find = () => document.querySelector(`[data-testid=article][data-item="${CSS.escape(item)}"]`);
  const place = () => {
    const el = find();
    if (!el) return false;
    const header = document.querySelector('.top')?.getBoundingClientRect().height || 0;
    window.scrollTo({ top: window.scrollY + el.getBoundingClientRect().top - header - 8, behavior: 'instant' });
    return true;
  };
  if (!place()) return false;
  find().querySelector('h4')?.focus({ preventScroll: true });
  // articles skipped by content-visibility get their real height once near the screen: place it again
  requestAnimationFrame(() => requestAnimationFrame(place));
  setTimeout(place, 120);
  return true;
}

export function Finder({ query, filters, matched, onQuery, onFilter, onClear }) {
  const app = useApp();
  const t = app.state.t;
  const active = Boolean(query) || FILTERS.some((f) => filters[f]);
  return html`<div class="finder" role="search">
    <label class="visually-hidden" for="article-search">${t('nav.search')}</label>
    <input id="article-search" type="search" data-testid="article-search" placeholder=${t('nav.searchHint')}
      value=${query} onInput=${(e) => onQuery(e.currentTarget.value)} />
    <div class="filters" role="group" aria-label=${t('nav.filters')}>
      ${FILTERS.map((f) => html`<button type="button" key=${f} class="btn small chip-btn" data-testid="filter" data-value=${f}
        aria-pressed=${String(Boolean(filters[f]))} onClick=${() => onFilter(f)}>${t(`nav.filter.${f}`)}</button>`)}
    </div>
    ${active && html`<p class="finder-result" role="status" data-testid="filter-count" data-n=${matched}>
      ${matched ? t('nav.matched', { n: matched }) : t('nav.noMatch')}
      <button type="button" class="btn small link" data-testid="filter-clear" onClick=${onClear}>${t('nav.clear')}</button></p>`}
  </div>`;
}

function Chip({ number, fact, onJump }) {
  const app = useApp();
  const t = app.state.t;
  const state = fact.conflict ? 'conflict' : !fact.answered ? 'open' : fact.short ? 'short' : 'done';
  return html`<button type="button" class=${`btn index-chip ${state}`} data-testid="index-article" data-item=${number}
    data-state=${state} title=${fact.article.title}
    aria-label=${`${number} ${fact.article.title} · ${t(`nav.state.${state}`)}`} onClick=${() => onJump(number)}>${number}</button>`;
}

function SectionRow({ section, facts, onJump, sub }) {
  const app = useApp();
  const t = app.state.t;
  const done = section.total > 0 && section.answered === section.total;
  return html`<li class=${`index-section${sub ? ' sub' : ''}`} data-testid="index-section" data-section=${section.code}
      data-answered=${section.answered} data-total=${section.total} data-short=${section.short}>
    <div class="index-head">
      <span class="num">${section.code}</span> <span class="index-title">${section.title}</span>
      <span class=${done ? 'ok-text' : 'muted'}>${t('nav.sectionProgress', { a: section.answered, b: section.total })}</span>
      ${section.short > 0 && html`<span class="warn-text">${t('nav.photosShort', { n: section.short })}</span>`}
    </div>
    ${(!section.children?.length || sub) && html`<div class="index-chips">${section.articles.map((n) => html`<${Chip} key=${n}
      number=${n} fact=${facts.get(n)} onJump=${onJump} />`)}</div>`}
    ${section.children?.length > 0 && html`<ul class="index-list">${section.children.map((c) => html`<${SectionRow} key=${c.code}
      section=${c} facts=${facts} onJump=${onJump} sub=${true} />`)}</ul>`}
  </li>`;
}

// The index opens as a modal sheet (<dialog>): Escape and the close button shut it, focus returns.
export function SectionIndex({ open, sections, facts, onJump, onClose }) {
  const app = useApp();
  const t = app.state.t;
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return html`<dialog ref=${ref} class="sheet" data-testid="section-index" aria-labelledby="index-title" onClose=${onClose}>
    <div class="sheet-head"><h2 id="index-title">${t('nav.index')}</h2>
      <button type="button" class="btn small" data-testid="index-close" onClick=${onClose}>${t('nav.close')}</button></div>
    <ul class="index-list">${open && sections.map((s) => html`<${SectionRow} key=${s.code} section=${s}
      facts=${facts} onJump=${onJump} />`)}</ul>
  </dialog>`;
}

export function NavBar({ answered, total, onIndex, onNext, allDone }) {
  const app = useApp();
  const t = app.state.t;
  return html`<nav class="navbar" aria-label=${t('nav.bar')}>
    <button type="button" class="btn" data-testid="index-open" onClick=${onIndex}>☰ ${t('nav.index')}</button>
    <span class="navbar-count" data-testid="nav-progress">${t('nav.sectionProgress', { a: answered, b: total })}</span>
    <button type="button" class="btn primary" data-testid="next-unanswered" disabled=${allDone} onClick=${onNext}>
      ${allDone ? t('nav.allAnswered') : t('nav.next')}</button>
  </nav>`;
}
