// One article: requirement items per level, evaluation methods, answer buttons, notes, photos, evidence.
import { Component } from '../vendor/preact/preact.js';
import { useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { formatBytes } from '../lib/format.js';
import { answerItem, gradeCodes, isAnswered, minPhotos } from '../lib/inspection.js';
import { Button, CAMERA, ProgressBar, thumbUrl } from './parts.js';
import { DOCUMENT_ACCEPT, DocumentIcon, documentFormat, documentRefusal, isDocument, minDocuments, notADocument, PAGE } from '../lib/documents.js';

function AnswerButtons({ app, ctx, article, entry, itemCode }) {
  const { actions, state } = app;
  const t = state.t;
  const { bundle, mode, inspection, locked } = ctx;
  const current = entry?.na ? 'na' : entry?.value;
  const choose = (value) => actions.answerArticle(inspection.id, itemCode, value);
  const buttons = [];
  if (mode === 'graded') {
    for (const code of gradeCodes(bundle)) {
      buttons.push(html`<${Button} testid="answer" value=${code} pressed=${current === code} disabled=${locked}
        kind=${`grade grade-${code}`} label=${`${t('answer')} ${code}`} onClick=${() => choose(code)}>${code}<//>`);
    }
  } else if (mode === 'passfail') {
    buttons.push(html`<${Button} testid="answer" value="pass" pressed=${current === true} disabled=${locked}
      kind="grade pass" onClick=${() => choose(true)}>${t('pass')}<//>`);
    buttons.push(html`<${Button} testid="answer" value="fail" pressed=${current === false} disabled=${locked}
      kind="grade fail" onClick=${() => choose(false)}>${t('fail')}<//>`);
  } else if (mode === 'points' && article.indicator) {
    // an indicator's answer is the measured value; the engine scores it against the target
    const { op, value, unit } = article.indicator;
    buttons.push(html`<label class="points"><span>${t('indicatorMeasured', { op: op === '>=' ? '≥' : '≤', value, unit: unit === 'ratio' ? '' : (unit || '') })}</span>
      <input type="number" inputmode="decimal" min="0" step="any" data-testid="answer" data-value="points"
        aria-pressed=${String(typeof current === 'number')} disabled=${locked}
        value=${typeof current === 'number' ? current : ''}
        onChange=${(e) => e.currentTarget.value !== '' && choose(Number(e.currentTarget.value))} /></label>`);
  } else if (mode === 'points') {
    const max = article.points ?? 0;
    buttons.push(html`<label class="points"><span>${t('points', { max })}</span>
      <input type="number" inputmode="decimal" min="0" max=${max} step="0.5" data-testid="answer" data-value="points"
        aria-pressed=${String(typeof current === 'number')} disabled=${locked}
        value=${typeof current === 'number' ? current : ''}
        onChange=${(e) => e.currentTarget.value !== '' && choose(Number(e.currentTarget.value))} /></label>`);
  }
  if (article.naAllowed) {
    buttons.push(html`<${Button} testid="answer" value="na" pressed=${current === 'na'} disabled=${locked}
      kind="grade na" onClick=${() => choose('na')}>${t('na')}<//>`);
  }
  return html`<div class="answers" role="group" aria-label=${`${t('answer')} ${article.number}`}>${buttons}</div>`;
}

function Levels({ article }) {
  const levels = (article.levels || []).filter((l) => (l.items || []).length);
  if (!levels.length) return null;
  return html`<dl class="levels">${levels.map((level) => html`<div class="level" key=${level.grade}>
    <dt><span class=${`grade-tag grade-${level.grade}`}>${level.grade}</span> ${level.label}</dt>
    ${level.items.map((item) => html`<dd key=${item.id}><span class="item-id">${item.id}</span> ${item.text}</dd>`)}
  </div>`)}</dl>`;
}

function Notes({ app, ctx, article, notes }) {
  const { actions, state } = app;
  const t = state.t;
  const [text, setText] = useState('');
  const id = `note-${article.number}`;
  async function save() {
    const value = text.trim();
    if (!value) return;
    await actions.addNote(ctx.inspection.id, article.number, value);
    setText('');
  }
  return html`<div class="notes">
    ${notes.map((n) => html`<p class="note" data-testid="note" key=${n.id}>${n.text}${n.pending ? html` <span class="muted">(${t('notSynced')})</span>` : ''}</p>`)}
    ${!ctx.locked && html`<label for=${id} class="label">${t('notes')}</label>
    <textarea id=${id} data-testid="note-input" rows="2" placeholder=${t('notePlaceholder')} value=${text}
      onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    <${Button} testid="note-save" onClick=${save} disabled=${!text.trim()}>${t('saveNote')}<//>`}
  </div>`;
}

function Photo({ app, photo }) {
  const t = app.state.t;
  const url = thumbUrl(photo);
  const progress = app.state.progress.value.get(photo.photoId);
  const stateName = photo.state || 'queued';
  const flags = photo.flags || [];
  // what the file lacks that the article requires (not_received: its state above already says so)
  const missingFacts = (photo.notCounted || []).filter((w) => w !== 'not_received');
  return html`<figure class=${`photo state-${stateName}`} data-testid="photo" data-photo-id=${photo.photoId} data-state=${stateName}>
    ${url ? html`<img src=${url} alt=${photo.name || photo.photoId} loading="lazy" />` : html`<div class="noimg" aria-hidden="true">${CAMERA}</div>`}
    <figcaption>
      <span class="photo-state">${t(`photo_${stateName}`)}</span>
      ${stateName === 'uploading' && html`<${ProgressBar} value=${progress} label=${t('photo_uploading')} />`}
      ${photo.size ? html`<span class="muted">${formatBytes(photo.size)}</span>` : ''}
      ${stateName === 'rejected' && photo.reason && html`<span class="error-text">${t(`photoRejected_${photo.reason}`) || photo.reason}</span>`}
      ${missingFacts.length > 0 && html`<span class="badge not-counted" data-testid="photo-not-counted" data-why=${missingFacts.join(' ')}>
        ${t('notCounted', { why: missingFacts.map((w) => t(`notCounted_${w}`)).join('、') })}</span>`}
      ${flags.map((f) => html`<span class="badge flag" data-testid="photo-flag" data-code=${f.code} title=${f.detail}>! ${t(`flag_${f.code}`)}${f.detail ? `：${f.detail}` : ''}</span>`)}
    </figcaption>
  </figure>`;
}

// A ledger: its type icon (the device renders no document), name, state and, if refused, why in words.
function Document({ app, doc }) {
  const t = app.state.t;
  const progress = app.state.progress.value.get(doc.photoId);
  const stateName = doc.state || 'queued';
  return html`<figure class=${`photo document state-${stateName}`} data-testid="document" data-photo-id=${doc.photoId}
      data-state=${stateName} data-format=${documentFormat(doc.mime)}>
    <${DocumentIcon} t=${t} mime=${doc.mime} />
    <figcaption>
      ${doc.name && html`<span class="doc-name">${doc.name}</span>`}
      <span class="photo-state">${t(`photo_${stateName}`)}</span>
      ${stateName === 'uploading' && html`<${ProgressBar} value=${progress} label=${t('photo_uploading')} />`}
      ${doc.size ? html`<span class="muted">${formatBytes(doc.size)}</span>` : ''}
      ${stateName === 'rejected' && html`<span class="error-text" data-testid="document-refused">${documentRefusal(t, doc.mime, doc.reason)}</span>`}
    </figcaption>
  </figure>`;
}

function Documents({ app, ctx, article, docs }) {
  const { actions, state } = app;
  const t = state.t;
  const need = minDocuments(ctx.bundle, article);
  const have = docs.filter((d) => d.state !== 'rejected').length;
  const id = `doc-${article.number}`;
  const [refused, setRefused] = useState([]);
  async function chosen(event) {
    const input = event.currentTarget;
    const files = [...input.files];
    input.value = '';
    const notTaken = [];
    for (const file of files) {
      // a type the server never accepts is said at once, offline too (the server still checks every byte)
      const why = notADocument(file);
      if (why) notTaken.push({ name: file.name, ...why });
      else await actions.addPhoto(ctx.inspection.id, article.number, file);
    }
    setRefused(notTaken);
  }
  if (ctx.locked && !docs.length && need === 0) return null;
  return html`<div class="photos documents">
    <div class="photos-head">
      <span class="label">${t('documents')}</span>
      ${need > 0 && html`<span class=${`evidence ${have >= need ? 'ok-text' : 'warn-text'}`} data-testid="document-evidence"
        data-have=${have} data-need=${need}>${have >= need ? '✓ ' : ''}${t('documentEvidence', { have, need })}</span>`}
      ${!ctx.locked && html`<label class="btn" for=${id} title=${t('documentTypes')}>${PAGE} ${t('attachDocument')}</label>
      <input id=${id} class="visually-hidden" type="file" accept=${DOCUMENT_ACCEPT} multiple
        data-testid="document-input" onChange=${chosen} />`}
    </div>
    ${refused.map((r) => html`<p class="error-text" data-testid="document-not-taken" data-code=${r.code} key=${r.name}>
      ${r.name}：${t(`documentRejected_${r.code}`, { format: r.format })}</p>`)}
    ${docs.length > 0 && html`<div class="photo-grid">${docs.map((d) => html`<${Document} key=${d.photoId} app=${app} doc=${d} />`)}</div>`}
  </div>`;
}

function Photos({ app, ctx, article, photos }) {
  const { actions, state } = app;
  const t = state.t;
  const need = minPhotos(ctx.bundle, article);
  // photos lacking the capture time or location the article requires do not count (the server's receipt)
  const have = photos.filter((p) => p.state !== 'rejected' && !(p.notCounted || []).some((w) => w !== 'not_received')).length;
  const id = `photo-${article.number}`;
  async function chosen(event) {
    const input = event.currentTarget;
    const files = [...input.files];
    input.value = ''; // the same file chosen again must fire `change` again
    for (const file of files) await actions.addPhoto(ctx.inspection.id, article.number, file);
  }
  const evidenceClass = need === 0 ? 'muted' : have >= need ? 'ok-text' : 'warn-text';
  return html`<div class="photos">
    <div class="photos-head">
      <span class="label">${t('photos')}</span>
      <span class=${`evidence ${evidenceClass}`} data-testid="evidence" data-have=${have} data-need=${need}>
        ${need === 0 ? t('evidenceNone') : have >= need ? `✓ ${t('evidence', { have, need })}` : t('evidence', { have, need })}</span>
      ${!ctx.locked && html`<label class="btn camera" for=${id}>${CAMERA} ${t('takePhoto')}</label>
      <input id=${id} class="visually-hidden" type="file" accept="image/*" capture="environment" multiple
        data-testid="photo-input" onChange=${chosen} />`}
    </div>
    ${photos.length > 0 && html`<div class="photo-grid">${photos.map((p) => html`<${Photo} key=${p.photoId} app=${app} photo=${p} />`)}</div>`}
  </div>`;
}

// Re-rendered only when what it shows changed (`sig`): a tap on one article must not diff all hundred.
export class Article extends Component {
  shouldComponentUpdate(next) {
    return next.sig !== this.props.sig || next.article !== this.props.article;
  }

  render(props) {
    return ArticleBody(props);
  }
}

export function articleSig(ctx, article, lang, progress) {
  const item = answerItem(ctx.mode, ctx.rater, article.number);
  const entry = ctx.answers.get(item);
  const notes = ctx.notesByItem.get(article.number) || [];
  const photos = ctx.photosByItem.get(article.number) || [];
  return [
    lang, ctx.locked, ctx.mode, ctx.rater, JSON.stringify(entry?.value), entry?.na, ctx.resolvedByItem.get(item)?.resolution,
    notes.map((n) => `${n.id}${n.pending ? '*' : ''}${n.text}`).join('|'),
    photos.map((p) => `${p.photoId}:${p.mime}:${p.state}:${progress.get(p.photoId) ?? ''}:${(p.flags || []).length}:${(p.notCounted || []).join('+')}:${p.thumb ? 1 : 0}`).join('|'),
  ].join('§');
}

function ArticleBody({ app, ctx, article }) {
  const t = app.state.t;
  const { mode, rater, answers, notesByItem, photosByItem, methods, resolvedByItem } = ctx;
  const itemCode = answerItem(mode, rater, article.number);
  const entry = answers.get(itemCode);
  const answered = isAnswered(entry);
  const resolved = resolvedByItem.get(itemCode);
  return html`<article class=${`article ${answered ? 'answered' : ''}`} data-testid="article" data-item=${article.number}
      aria-labelledby=${`a-${article.number}`}>
    <header class="article-head">
      <h4 id=${`a-${article.number}`}><span class="num">${article.number}</span> ${article.title}</h4>
      <span class=${`badge ${article.kind === 'recommended' ? 'rec' : 'basic'}`}>
        ${article.kind === 'recommended' ? t('recommendedArticle') : t('basicArticle')}</span>
    </header>
    ${(article.methods || []).length > 0 && html`<p class="methods"><span class="label">${t('methods')}</span>
      ${article.methods.map((m) => html`<span class="chip" key=${m}>${methods.get(m) || m}</span>`)}</p>`}
    <${Levels} article=${article} />
    ${article.evidence?.docs?.length > 0 && html`<p class="docs muted"><span class="label">${app.state.t('docs')}</span>${article.evidence.docs.join('；')}</p>`}
    <${AnswerButtons} app=${app} ctx=${ctx} article=${article} entry=${entry} itemCode=${itemCode} />
    ${resolved && html`<p class="muted" data-testid="conflict-resolved">✓ ${String(resolved.resolution)}</p>`}
    <${Notes} app=${app} ctx=${ctx} article=${article} notes=${notesByItem.get(article.number) || []} />
    <${Photos} app=${app} ctx=${ctx} article=${article} photos=${(photosByItem.get(article.number) || []).filter((p) => !isDocument(p.mime))} />
    <${Documents} app=${app} ctx=${ctx} article=${article} docs=${(photosByItem.get(article.number) || []).filter((p) => isDocument(p.mime))} />
  </article>`;
}
