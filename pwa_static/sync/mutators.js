// The local registry: mutation name -> how it changes the view before the server confirms it.
// The server's registry (sync/ in Python) uses the same wire names; a test checks both list the same names.

function put(view, key, value) {
  view.set(key, value);
}

function answerKey(a) {
  return `answer/${a.inspectionId}/${a.itemCode}/${a.field}`;
}

export const MUTATORS = {
  // `saving`: shown, not yet stored on the device (a provisional entry of store/actions.js act())
  setAnswer(view, a, me, provisional) {
    const key = answerKey(a);
    put(view, key, { ...(view.get(key) || {}), ...a, userId: me.userId, pending: true, saving: provisional });
  },
  addNote(view, a, me) {
    put(view, `note/${a.noteId}`, {
      id: a.noteId,
      inspectionId: a.inspectionId,
      itemCode: a.itemCode,
      text: a.text,
      authorId: me.userId,
      pending: true,
    });
  },
  editNote(view, a) {
    const key = `note/${a.noteId}`;
    const note = view.get(key);
    if (note) put(view, key, { ...note, text: a.text, pending: true });
  },
  deleteNote(view, a) {
    view.delete(`note/${a.noteId}`);
  },
  addPhoto(view, a, me) {
    put(view, `photo/${a.photoId}`, {
      id: a.photoId,
      inspectionId: a.inspectionId,
      itemCode: a.itemCode,
      requirementId: a.requirementId ?? null,
      sha256: a.sha256,
      size: a.size,
      mime: a.mime,
      takenAt: a.takenAt ?? null,
      caption: '',
      createdBy: me.userId,
      pending: true,
    });
  },
  removePhoto(view, a) {
    view.delete(`photo/${a.photoId}`);
  },
  setPhotoCaption(view, a) {
    const key = `photo/${a.photoId}`;
    const photo = view.get(key);
    if (photo) put(view, key, { ...photo, caption: a.caption, pending: true });
  },
  resolveConflict(view, a) {
    const key = `conflict/${a.conflictId}`;
    const conflict = view.get(key);
    if (!conflict) return;
    put(view, key, { ...conflict, status: 'resolved', resolution: a.value, pending: true });
    if (conflict.registerKey?.startsWith('improvement/')) {
      // improvement/<id>/<field>: the item carries its field registers
      const [, id, field] = conflict.registerKey.split('/');
      const item = view.get(`improvement/${id}`);
      if (item) put(view, `improvement/${id}`, { ...item, [field]: a.value, pending: true });
      return;
    }
    const registerKey = `answer/${conflict.inspectionId}/${conflict.itemCode}/${conflict.field}`;
    if (view.get(registerKey)) {
      put(view, registerKey, { ...view.get(registerKey), value: a.value, conflictId: null, pending: true });
    }
  },
  submitInspection(view, a) {
    const key = `inspection/${a.inspectionId}`;
    const inspection = view.get(key);
    if (inspection) put(view, key, { ...inspection, status: 'submitted', pending: true });
  },
  // The improvement plan (docs/improvement.md): items live on the clinic's self-assessment.
  createImprovement(view, a, me) {
    const key = `improvement/${a.improvementId}`;
    if (view.get(key)) return;
    put(view, key, {
      id: a.improvementId,
      inspectionId: a.inspectionId,
      itemCode: a.itemCode,
      requirementId: a.requirementId ?? null,
      gap: a.gap,
      kind: a.kind,
      owner: a.owner || '',
      dueDate: a.dueDate ?? null,
      status: a.kind === 'needs_support' ? 'needs_support' : 'open',
      photoIds: [],
      fieldVersions: {},
      createdBy: me.userId,
      pending: true,
    });
  },
  setImprovementField(view, a) {
    const key = `improvement/${a.improvementId}`;
    const item = view.get(key);
    if (!item) return;
    const next = { ...item, [a.field]: a.value, pending: true };
    if (a.field === 'kind' && item.status === 'needs_support' && a.value !== 'needs_support') next.status = 'open';
    put(view, key, next);
  },
  setImprovementStatus(view, a) {
    const key = `improvement/${a.improvementId}`;
    const item = view.get(key);
    if (item) put(view, key, { ...item, status: a.status, pending: true });
  },
  attachImprovementPhoto(view, a) {
    const key = `improvement/${a.improvementId}`;
    const item = view.get(key);
    if (!item) return;
    const ids = item.photoIds || [];
    if (!ids.includes(a.photoId)) put(view, key, { ...item, photoIds: [...ids, a.photoId], pending: true });
  },
};

export const MUTATION_NAMES = Object.keys(MUTATORS);

// The view: confirmed server state with the queued mutations replayed on top (Replicache's rebase).
export function buildView(confirmed, pending, me) {
  const view = new Map(confirmed);
  for (const m of pending) {
    const mutator = MUTATORS[m.name];
    if (mutator) mutator(view, m.args, me, m.provisional === true);
  }
  return view;
}
