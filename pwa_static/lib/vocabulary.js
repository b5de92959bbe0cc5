// One vocabulary of codes, shared with the server (backend/vocabulary.py reads the same files): every message a
// person reads is a code with parameters, said here in the reader's language. One JSON file per feature, each
// entry {"zh": "...", "en": "..."}; tests/backend/test_vocabulary.py checks both languages and their placeholders.
import common from '../vocabulary/common.json' with { type: 'json' };
import login from '../vocabulary/login.json' with { type: 'json' };
import sync from '../vocabulary/sync.json' with { type: 'json' };
import inspection from '../vocabulary/inspection.json' with { type: 'json' };
import office from '../vocabulary/office.json' with { type: 'json' };
import improvement from '../vocabulary/improvement.json' with { type: 'json' };
import explanations from '../vocabulary/explanations.json' with { type: 'json' };
import columns from '../vocabulary/columns.json' with { type: 'json' };
import reports from '../vocabulary/reports.json' with { type: 'json' };
import verdict from '../vocabulary/verdict.json' with { type: 'json' };
import stages from '../vocabulary/stages.json' with { type: 'json' };
import navigation from '../vocabulary/navigation.json' with { type: 'json' };
import programmes from '../vocabulary/programmes.json' with { type: 'json' };
import documents from '../vocabulary/documents.json' with { type: 'json' };
import security from '../vocabulary/security.json' with { type: 'json' };
import operations from '../vocabulary/operations.json' with { type: 'json' };

const FEATURES = [
  common, login, sync, inspection, office, improvement, explanations, columns, reports,
  verdict, stages, navigation, programmes, documents, security, operations,
];

function byLanguage(lang) {
  const out = {};
  for (const feature of FEATURES) {
    for (const [code, texts] of Object.entries(feature)) out[code] = texts[lang];
  }
  return out;
}

export const VOCABULARY = { zh: byLanguage('zh'), en: byLanguage('en') };
