// One article: requirement items per level, evaluation methods, answer buttons, notes, photos, evidence.
import { Component } from '../vendor/preact/preact.js';
import { useEffect, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { formatBytes } from '../lib/format.js';
import { isAnswered, isDocumentOf, itemOf } from '../lib/inspection.js';
import { Button, CAMERA, ProgressBar, thumbUrl } from './parts.js';
import { DocumentIcon, documentAccept, documentFormat, documentRefusal, notADocument, PAGE } from '../lib/documents.js';
import { useApp } from '../lib/app_context.js';

function AnswerButtons({ ctx, article, entry, itemCode }) {
  const app = useApp();
  const { actions, state } = app;
  const t = state.t;
  const { checklist, mode, inspection, locked } = ctx;
  const current = entry?.na ? 'na' : entry?.value;
  const choose = (value) => actions.answerArticle(inspection.id, itemCode, value);
  const buttons = [];
  if (mode === 'graded') {
    for (const code of checklist.grades) {
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
  const answered = isAnswered(entry);
  if (answered && !locked) {
    buttons.push(html`<${Button} testid="answer-clear" kind="ghost-btn" label=${t('nav.answerClearLabel', { item: article.number })}
      onClick=${() => actions.clearAnswer(inspection.id, itemCode)}>${t('nav.answerClear')}<//>`);
  }
  // a tap is shown at once but said to be saving (aria-busy) until its strict IndexedDB write is done: a tab
  // closed before that may lose it, never after
  const saving = Boolean(entry?.saving);
  return html`<div class="answers" role="group" aria-label=${`${t('answer')} ${article.number}`}
    aria-busy=${saving ? 'true' : null} data-saving=${saving ? 'true' : null}>${buttons}</div>`;
}

// A change the server refused, said at its article (the sync centre lists them all).
function Refusals({ refusals }) {
  const app = useApp();
  const t = app.state.t;
  if (!refusals.length) return null;
  const reason = (r) => {
    const text = t(`reason_${r.reason}`, r.params || {});
    return text === `reason_${r.reason}` ? t('reason_other', { reason: r.reason }) : text;
  };
  return html`<div class="banner error stack" role="alert" data-testid="article-refusal" data-reason=${refusals[0].reason}>
    ${refusals.slice(0, 3).map((r) => html`<p key=${r.id}><strong>${t('nav.refused')}</strong> ${reason(r)}</p>`)}
    <button type="button" class="btn small" data-testid="refusal-dismiss" onClick=${() => app.actions.dismissRejections()}>${t('dismiss')}</button>
  </div>`;
}

function Levels({ article }) {
  const levels = (article.levels || []).filter((l) => (l.items || []).length);
  if (!levels.length) return null;
  return html`<dl class="levels">${levels.map((level) => html`<div class="level" key=${level.grade}>
    <dt><span class=${`grade-tag grade-${level.grade}`}>${level.grade}</span> ${level.label}</dt>
    ${level.items.map((item) => html`<dd key=${item.id}><span class="item-id">${item.id}</span> ${item.text}</dd>`)}
  </div>`)}</dl>`;
}

function Notes({ ctx, article, notes }) {
  const app = useApp();
  const { actions, state } = app;
  const t = state.t;
  const [text, setText] = useState('');
  const id = `note-${article.number}`;
  async function save() {
    const value = text.trim();
    if (!value) return;
    setText(''); // cleared before the save, so what is typed meanwhile is kept
    await actions.addNote(ctx.inspection.id, article.number, value);
  }
  const me = state.session.value?.user?.id;
  return html`<div class="notes">
    ${notes.map((n) => html`<${NoteEntry} key=${n.id} note=${n} mine=${!ctx.locked && (n.authorId === me || !n.authorId)} />`)}
    ${!ctx.locked && html`<label for=${id} class="label">${t('notes')}</label>
    <textarea id=${id} data-testid="note-input" rows="2" placeholder=${t('notePlaceholder')} value=${text}
      onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    <${Button} testid="note-save" onClick=${save} disabled=${!text.trim()}>${t('saveNote')}<//>`}
  </div>`;
}

// why the server refused a photo's file, from its code; a code with no text yet still says it was refused
function rejectedText(t, reason) {
  const key = `photoRejected_${reason}`;
  const text = t(key);
  return text === key ? t('photoRejected_other') : text;
}

// One note; its author may edit or delete it (queued like every change, offline too).
function NoteEntry({ note, mine }) {
  const app = useApp();
  const { actions, state } = app;
  const t = state.t;
  const [editing, setEditing] = useState(null);
  if (editing !== null) {
    const save = async () => {
      const value = editing.trim();
      if (value && value !== note.text) await actions.editNote(note, value);
      setEditing(null);
    };
    return html`<div class="note editing" data-testid="note" data-note-id=${note.id}>
      <label class="visually-hidden" for=${`edit-${note.id}`}>${t('nav.noteEdit')}</label>
      <textarea id=${`edit-${note.id}`} data-testid="note-edit-input" rows="2" value=${editing}
        onInput=${(e) => setEditing(e.currentTarget.value)}></textarea>
      <div class="row"><${Button} testid="note-edit-save" kind="primary small" disabled=${!editing.trim()} onClick=${save}>${t('saveNote')}<//>
        <${Button} testid="note-edit-cancel" kind="small" onClick=${() => setEditing(null)}>${t('nav.confirm.cancel')}<//></div>
    </div>`;
  }
  return html`<div class="note" data-testid="note" data-note-id=${note.id}>
    <p class="note-text">${note.text}${note.pending ? html` <span class="muted">(${t('notSynced')})</span>` : ''}</p>
    ${mine && html`<div class="note-actions">
      <${Button} testid="note-edit" kind="small link" onClick=${() => setEditing(note.text)}>${t('nav.noteEdit')}<//>
      <${Button} testid="note-delete" kind="small link danger-text" onClick=${() => actions.deleteNote(note)}>${t('nav.noteDelete')}<//>
    </div>`}
  </div>`;
}

function Photo({ ctx, photo }) {
  const app = useApp();
  const { actions } = app;
  const t = app.state.t;
  const editable = ctx && !ctx.locked;
  const [caption, setCaption] = useState(null);
  const shownCaption = caption ?? photo.caption ?? '';
  const saveCaption = () => {
    if (caption !== null && caption !== (photo.caption ?? '')) actions.setPhotoCaption(ctx.inspection.id, photo.photoId, caption);
    setCaption(null);
  };
  async function replaced(event) {
    const input = event.currentTarget;
    const [file] = input.files;
    input.value = '';
    if (file) await actions.replacePhoto(ctx.inspection.id, photo.itemCode, photo.photoId, file);
  }
  const replaceId = `replace-${photo.photoId}`;
  const url = thumbUrl(photo);
  const progress = app.state.progress.value.get(photo.photoId);
  const stateName = photo.state || 'queued';
  const flags = photo.flags || [];
  // what the file lacks that the article requires (not_received: its state above already says so); before
  // the server has the file, what the device read from it at capture says so at once
  const missingFacts = missingOf(photo, ctx?.requires);
  return html`<figure class=${`photo state-${stateName}`} data-testid="photo" data-photo-id=${photo.photoId} data-state=${stateName}>
    ${url ? html`<img src=${url} alt=${photo.caption || photo.name || t('nav.photoAlt', { item: photo.itemCode })} loading="lazy" />` : html`<div class="noimg" aria-hidden="true">${CAMERA}</div>`}
    <figcaption>
      <span class="photo-state">${t(`photo_${stateName}`)}</span>
      ${stateName === 'stored' && html`<${Button} testid="photo-original" kind="small link"
        onClick=${() => actions.openOriginal(photo.photoId).catch(() => (app.state.notice.value = t('nav.needsConnection')))}>${t('nav.photoOriginal')}<//>`}
      ${stateName === 'uploading' && html`<${ProgressBar} value=${progress} label=${t('photo_uploading')} />`}
      ${photo.size ? html`<span class="muted">${formatBytes(photo.size)}</span>` : ''}
      ${stateName === 'rejected' && photo.reason && html`<span class="error-text">${rejectedText(t, photo.reason)}</span>`}
      ${missingFacts.length > 0 && html`<span class="badge not-counted" data-testid="photo-not-counted" data-why=${missingFacts.join(' ')}>
        ${t('notCounted', { why: missingFacts.map((w) => t(`notCounted_${w}`)).join('、') })}</span>`}
      ${flags.map((f) => html`<span class="badge flag" data-testid="photo-flag" data-code=${f.code} title=${f.message ? t(f.message.code, f.message.params) : ''}>! ${t(`flag_${f.code}`)}${f.message ? `：${t(f.message.code, f.message.params)}` : ''}</span>`)}
      ${editable ? html`<label class="visually-hidden" for=${`cap-${photo.photoId}`}>${t('nav.caption')}</label>
        <input id=${`cap-${photo.photoId}`} class="caption-input" data-testid="photo-caption" placeholder=${t('nav.captionHint')}
          value=${shownCaption} maxlength="200" onInput=${(e) => setCaption(e.currentTarget.value)} onBlur=${saveCaption}
          onKeyDown=${(e) => e.key === 'Enter' && e.currentTarget.blur()} />
        <div class="photo-actions">
          <label class="btn small" for=${replaceId}>${t('nav.photoReplace')}</label>
          <input id=${replaceId} class="visually-hidden" type="file" accept="image/*" capture="environment"
            data-testid="photo-replace" onChange=${replaced} />
          <${Button} testid="photo-delete" kind="small danger-text" label=${t('nav.photoDeleteLabel', { n: photo.name || '' })}
            onClick=${() => actions.removePhoto(ctx.inspection.id, photo.photoId)}>${t('nav.photoDelete')}<//>
        </div>` : photo.caption ? html`<span class="photo-caption-text" data-testid="photo-caption-text">${photo.caption}</span>` : ''}
    </figcaption>
  </figure>`;
}

// Why a photo will not count: the server's word once it has the file, else the device's own reading.
function missingOf(photo, requires) {
  const server = (photo.notCounted || []).filter((w) => w !== 'not_received');
  const arrived = photo.state === 'received' || photo.state === 'stored';
  if (arrived || server.length || !photo.facts || !requires) return server;
  const missing = [];
  if (requires.time && !photo.facts.time) missing.push('no_capture_time');
  if (requires.location && !photo.facts.gps) missing.push('no_location');
  return missing;
}

function requirementsOf(rules) {
  return { time: Boolean(rules?.requireCaptureTime), location: Boolean(rules?.requireLocation) };
}

// The location permission, asked on an inspection whose articles need the place of their photos (a camera
// may leave GPS out of its photos when the app may not use the location). One note, under the title.
let geolocation = null; // one permission query for every article that needs the place

export function LocationNote() {
  const app = useApp();
  const t = app.state.t;
  const [status, setStatus] = useState(null);
  useEffect(() => {
    let live = true;
    geolocation ||= navigator.permissions?.query({ name: 'geolocation' }) || Promise.reject(new Error('no permissions API'));
    const follow = (p) => {
      if (live) setStatus(p.state);
    };
    geolocation.then((p) => {
      follow(p);
      p.addEventListener('change', () => follow(p));
    }, () => {});
    return () => {
      live = false;
    };
  }, []);
  if (status === 'prompt') {
    return html`<p class="banner info location-note" data-testid="location-ask-note">${t('nav.locationWhy')}
      <button type="button" class="btn small" data-testid="location-ask"
        onClick=${() => navigator.geolocation.getCurrentPosition(() => setStatus('granted'), () => setStatus('denied'))}>${t('nav.locationAllow')}</button></p>`;
  }
  if (status === 'denied') return html`<p class="banner warn location-note" data-testid="location-denied">${t('nav.locationDenied')}</p>`;
  return null;
}

// A ledger: its type icon (the device renders no document), name, state and, if refused, why in words.
function Document({ doc, types }) {
  const app = useApp();
  const t = app.state.t;
  const format = documentFormat(types, doc.mime);
  const progress = app.state.progress.value.get(doc.photoId);
  const stateName = doc.state || 'queued';
  return html`<figure class=${`photo document state-${stateName}`} data-testid="document" data-photo-id=${doc.photoId}
      data-state=${stateName} data-format=${format}>
    <${DocumentIcon} t=${t} format=${format} />
    <figcaption>
      ${doc.name && html`<span class="doc-name">${doc.name}</span>`}
      <span class="photo-state">${t(`photo_${stateName}`)}</span>
      ${stateName === 'uploading' && html`<${ProgressBar} value=${progress} label=${t('photo_uploading')} />`}
      ${doc.size ? html`<span class="muted">${formatBytes(doc.size)}</span>` : ''}
      ${stateName === 'rejected' && html`<span class="error-text" data-testid="document-refused">${documentRefusal(t, format, doc.reason)}</span>`}
    </figcaption>
  </figure>`;
}

function Documents({ ctx, article, docs }) {
  const app = useApp();
  const { actions, state } = app;
  const t = state.t;
  const need = ctx.entries.get(article.number)?.minDocuments ?? 0;
  const types = ctx.checklist.documentTypes;
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
      const why = notADocument(types, file);
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
      <input id=${id} class="visually-hidden" type="file" accept=${documentAccept(types)} multiple
        data-testid="document-input" onChange=${chosen} />`}
    </div>
    ${refused.map((r) => html`<p class="error-text" data-testid="document-not-taken" data-code=${r.code} key=${r.name}>
      ${r.name}：${t(`documentRejected_${r.code}`, { format: r.format })}</p>`)}
    ${docs.length > 0 && html`<div class="photo-grid">${docs.map((d) => html`<${Document} key=${d.photoId} doc=${d} types=${types} />`)}</div>`}
  </div>`;
}

function Photos({ ctx, article, photos }) {
  const app = useApp();
  const { actions, state } = app;
  const t = state.t;
  const rules = ctx.entries.get(article.number);
  const need = rules?.minPhotos ?? 0;
  const requires = requirementsOf(rules);
  // photos lacking the capture time or location the article requires do not count (the server's receipt,
  // or the device's own reading of the file until the server has it)
  const have = photos.filter((p) => p.state !== 'rejected' && !missingOf(p, requires).length).length;
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
    ${photos.length > 0 && html`<div class="photo-grid">${photos.map((p) => html`<${Photo} key=${p.photoId} ctx=${{ ...ctx, requires }} photo=${p} />`)}</div>`}
  </div>`;
}

// Re-rendered only when what it shows changed (`sig`): a tap on one article must not diff all hundred.
export class Article extends Component {
  shouldComponentUpdate(next) {
    return next.sig !== this.props.sig || next.article !== this.props.article;
  }

  // ArticleBody is called, not rendered: its useApp() runs as this component's hook
  render(props) {
    return ArticleBody(props);
  }
}

export function articleSig(ctx, article, lang, progress) {
  const item = itemOf(ctx.entries.get(article.number), ctx.rater, article.number);
  const entry = ctx.answers.get(item);
  const notes = ctx.notesByItem.get(article.number) || [];
  const photos = ctx.photosByItem.get(article.number) || [];
  return [
    lang, ctx.locked, ctx.mode, (ctx.refusalsByItem.get(article.number) || []).map((r) => r.id).join(','), ctx.rater, JSON.stringify(entry?.value), entry?.na, entry?.saving, ctx.resolvedByItem.get(item)?.resolution,
    notes.map((n) => `${n.id}${n.pending ? '*' : ''}${n.authorId}${n.text}`).join('|'),
    photos.map((p) => `${p.photoId}:${p.mime}:${p.state}:${progress.get(p.photoId) ?? ''}:${(p.flags || []).length}:${(p.notCounted || []).join('+')}:${p.thumb ? 1 : 0}:${p.caption ?? ''}:${p.facts ? `${Boolean(p.facts.time)}${p.facts.gps}` : ''}`).join('|'),
  ].join('§');
}

function ArticleBody({ ctx, article }) {
  const app = useApp();
  const t = app.state.t;
  const { mode, rater, answers, notesByItem, photosByItem, methods, resolvedByItem } = ctx;
  const itemCode = itemOf(ctx.entries.get(article.number), rater, article.number);
  const entry = answers.get(itemCode);
  const answered = isAnswered(entry);
  const resolved = resolvedByItem.get(itemCode);
  return html`<article class=${`article ${answered ? 'answered' : ''}`} data-testid="article" data-item=${article.number}
      aria-labelledby=${`a-${article.number}`}>
    <header class="article-head">
      <h4 id=${`a-${article.number}`} tabindex="-1"><span class="num">${article.number}</span> ${article.title}</h4>
      <span class=${`badge ${article.kind === 'recommended' ? 'rec' : 'basic'}`}>
        ${article.kind === 'recommended' ? t('recommendedArticle') : t('basicArticle')}</span>
    </header>
    ${(article.methods || []).length > 0 && html`<p class="methods"><span class="label">${t('methods')}</span>
      ${article.methods.map((m) => html`<span class="chip" key=${m}>${methods.get(m) || m}</span>`)}</p>`}
    <${Levels} article=${article} />
    ${article.evidence?.docs?.length > 0 && html`<p class="docs muted"><span class="label">${app.state.t('docs')}</span>${article.evidence.docs.join('；')}</p>`}
    <${Refusals} refusals=${ctx.refusalsByItem.get(article.number) || []} />
    <${AnswerButtons} ctx=${ctx} article=${article} entry=${entry} itemCode=${itemCode} />
    ${resolved && html`<p class="muted" data-testid="conflict-resolved">✓ ${String(resolved.resolution)}</p>`}
    <${Notes} ctx=${ctx} article=${article} notes=${notesByItem.get(article.number) || []} />
    <${Photos} ctx=${ctx} article=${article} photos=${(photosByItem.get(article.number) || []).filter((p) => !isDocumentOf(ctx.checklist, p.mime))} />
    <${Documents} ctx=${ctx} article=${article} docs=${(photosByItem.get(article.number) || []).filter((p) => isDocumentOf(ctx.checklist, p.mime))} />
  </article>`;
}
