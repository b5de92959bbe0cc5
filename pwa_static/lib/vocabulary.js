// One vocabulary of codes, shared with the server (backend/vocabulary.py reads the same files): every message a
// person reads is a code with parameters, said here in the reader's language. One JSON file per feature, each
// entry {"code": {"zh": "...", "en": "..."}}; tests/backend/test_vocabulary.py checks both languages and their placeholders.
//
// Two parts, one set of codes. The texts the offline roles read (inspectors, clinics: their screens and every
// code the server can send) are imported at start and precached by the service worker. The texts only the
// office's screens and the clinic's online result read are loaded with those screens (loadOnDemandTexts) and
// kept by the service worker once loaded (backend/web/assets.py: ON_DEMAND; tests/backend/web/test_precache.py).
import common from '../vocabulary/common.json' with { type: 'json' };
import login from '../vocabulary/login.json' with { type: 'json' };
import sync from '../vocabulary/sync.json' with { type: 'json' };
import inspection from '../vocabulary/inspection.json' with { type: 'json' };
import improvement from '../vocabulary/improvement.json' with { type: 'json' };
import explanations from '../vocabulary/explanations.json' with { type: 'json' };
import navigation from '../vocabulary/navigation.json' with { type: 'json' };
import programmes from '../vocabulary/programmes.json' with { type: 'json' };
import documents from '../vocabulary/documents.json' with { type: 'json' };
import security from '../vocabulary/security.json' with { type: 'json' };
import operations from '../vocabulary/operations.json' with { type: 'json' };

const AT_START = [
  common, login, sync, inspection, improvement, explanations, navigation, programmes, documents, security, operations,
];

const ON_DEMAND = () => [
  import('../vocabulary/office.json', { with: { type: 'json' } }),
  import('../vocabulary/columns.json', { with: { type: 'json' } }),
  import('../vocabulary/reports.json', { with: { type: 'json' } }),
  import('../vocabulary/verdict.json', { with: { type: 'json' } }),
  import('../vocabulary/stages.json', { with: { type: 'json' } }),
  import('../vocabulary/programmes_office.json', { with: { type: 'json' } }),
];

export const VOCABULARY = { zh: {}, en: {} };

function add(feature) {
  for (const [code, texts] of Object.entries(feature)) {
    VOCABULARY.zh[code] = texts.zh;
    VOCABULARY.en[code] = texts.en;
  }
}

AT_START.forEach(add);

// The office's part, once per page (a failed load, offline before it was ever cached, is tried again next time).
let onDemand = null;
export function loadOnDemandTexts() {
  onDemand ??= Promise.all(ON_DEMAND()).then(
    (modules) => modules.forEach((m) => add(m.default)),
    (err) => {
      onDemand = null;
      throw err;
    },
  );
  return onDemand;
}
