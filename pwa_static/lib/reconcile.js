// The reconciliation screen's view model (views/office/reconcile.js draws it): the round's facilities with
// their stages, and a facility's table of articles with each stage's value, difference and photos.

// A photo whose bytes arrived but whose thumbnail is not made yet (the receipt's pageImage: one will be made) (a worker makes it shortly): the receipts are
// asked for again while one is.
export function receiptPending(photo) {
  return photo.state === 'received'
    || (photo.state === 'stored' && !photo.thumbReady && Boolean(photo.pageImage));
}

// The round's inspections grouped by facility, in the order they came: [{id, name, stages}].
export function facilitiesOfRound(inspections) {
  const facilities = new Map();
  for (const i of inspections || []) {
    if (!facilities.has(i.facilityId)) facilities.set(i.facilityId, { id: i.facilityId, name: i.facilityName, stages: [] });
    facilities.get(i.facilityId).stages.push(i);
  }
  return [...facilities.values()];
}

// The stages of a facility's discrepancies (self-assessment first) and one row per article: each stage's cell
// with its value, its difference from the self-assessment and that stage's photos of the article (from the
// receipts, by inspection id); `wide` as the server judged the gap (review/discrepancies.py).
export function reconcileStages(data) {
  return data ? [data.selfAssessment, ...data.reviews].filter(Boolean) : [];
}

export function reconcileTable(data, receipts) {
  if (!data) return { stages: [], rows: [] };
  const stages = reconcileStages(data);
  const photosBy = stages.map((stage) => {
    const byItem = new Map();
    for (const p of receipts[stage.inspectionId]?.photos || []) {
      if (!byItem.has(p.itemCode)) byItem.set(p.itemCode, []);
      byItem.get(p.itemCode).push(p);
    }
    return byItem;
  });
  const rows = data.items.map((row) => ({
    item: row.item,
    title: row.title,
    wide: row.stages.some((c) => c.wide),
    cells: [{ stage: 'self', value: row.selfValue }, ...row.stages].map((cell, i) => ({
      ...cell,
      photos: photosBy[i]?.get(row.item) || [],
    })),
  }));
  return { stages, rows };
}
