import { h } from './dom.js';

// The submit form: fields per job kind with the study's defaults (the demo's sizes and the shipped
// pretrained model), turned into the job spec the REST API takes. The spec stays one click away as
// JSON for what the fields do not cover (a harmonisation reference profile, other options).

const STUDY = { architecture: 'lite:inputSize=96', model: 'emidec-unet-lite', epochs: 1, batchSize: 4, learningRate: 0.001, seed: 1 };

const name = { key: 'name', label: 'Name', type: 'text', hint: 'what the console, audit log and reports call the job' };
const sites = { key: 'sites', label: 'Sites', type: 'sites' };
const architecture = { key: 'architecture', label: 'Network', type: 'text', value: STUDY.architecture };
const training = (epochs) => [
  { key: 'config.epochs', label: 'Epochs', type: 'int', value: epochs },
  { key: 'config.batchSize', label: 'Batch size', type: 'int', value: STUDY.batchSize },
  { key: 'config.learningRate', label: 'Learning rate', type: 'number', value: STUDY.learningRate },
  { key: 'config.seed', label: 'Seed', type: 'int', value: STUDY.seed },
];
// How sites segment when they score: one pass unless asked (mirroring 4x, each scale 1x the inference).
const inference = [
  { key: 'inference.mirror', label: 'Score with mirrored passes', type: 'bool', value: false },
  { key: 'inference.scales', label: 'Score at spacings (× working)', type: 'numbers', value: '', optional: true, hint: 'e.g. 0.833, 1, 1.167: probabilities averaged; empty: one pass' },
];
const limits = [
  { key: 'deadlineSeconds', label: 'Deadline per task (s)', type: 'int', value: 900 },
  { key: 'maxAttempts', label: 'Attempts per task', type: 'int', value: 2 },
];
const train = [
  name,
  { key: 'site', label: 'Site', type: 'site' },
  architecture,
  { key: 'initialModel', label: 'Start from model', type: 'text', value: STUDY.model, hint: 'a model name or sha256; empty: random weights' },
  ...training(STUDY.epochs),
  { key: 'config.augmentation', label: 'Augmentation', type: 'select', options: ['none', 'spatial', 'paper', 'nnunet'], value: 'paper' },
  ...limits,
];

const FIELDS = {
  train,
  pretrain: train,
  fedavg: [
    name,
    sites,
    { key: 'rounds', label: 'Rounds', type: 'int', value: 3 },
    { key: 'localEpochs', label: 'Local epochs per round', type: 'int', value: 1 },
    architecture,
    { key: 'initialModel', label: 'Start from model', type: 'text', value: STUDY.model, hint: 'a model name or sha256; empty: random weights' },
    { key: 'aggregation.strategy', label: 'Aggregation', type: 'select', options: ['fedavg', 'fedprox', 'median', 'trimmed-mean'], value: 'fedavg' },
    { key: 'compareWithLocal', label: 'Also train each site alone and compare', type: 'bool', value: true },
    ...training(1).filter((f) => f.key !== 'config.epochs'),
    ...inference,
    ...limits,
  ],
  finetune: [
    name,
    sites,
    architecture,
    { key: 'pretrainedModel', label: 'Pretrained model', type: 'text', value: STUDY.model },
    { key: 'encoderBlocks', label: 'Encoder blocks trained (one variant each)', type: 'ints', value: '1, 2' },
    { key: 'dataFractions', label: 'Fractions of training cases', type: 'numbers', value: '0.1, 1' },
    { key: 'scratchBaselines', label: 'Also train from scratch', type: 'bool', value: true },
    ...training(STUDY.epochs),
    ...inference,
    ...limits,
  ],
  evaluate: [
    name,
    sites,
    { key: 'models', label: 'Models, one a line: label = model name or sha256', type: 'models', value: `pretrained = ${STUDY.model}` },
    ...inference,
    ...limits,
  ],
  'harmonisation-check': [
    name,
    sites,
    { key: 'epsilon', label: 'Privacy ε per site', type: 'number', value: 1 },
    { key: 'flagWasserstein', label: 'Flag sites beyond (Wasserstein-1)', type: 'number', value: 0.05 },
    ...limits,
  ],
};

/** What a kind needs that no field gives. */
const NOTES = {
  'harmonisation-check': 'Also needs the reference intensity profile: open “Edit as JSON” and add it as "reference" (the shipped model’s is shared/models/emidec-unet-lite/reference-intensity.json).',
};

const list = (text, parse) => text.split(',').map((s) => s.trim()).filter(Boolean).map(parse);

/** A field's value from its inputs; undefined leaves the key out of the spec. */
function read(field, el) {
  switch (field.type) {
    case 'sites':
      return [...el.querySelectorAll('input:checked')].map((c) => c.value);
    case 'bool':
      return el.checked;
    case 'int':
    case 'number':
      return el.value === '' ? undefined : Number(el.value);
    case 'ints':
    case 'numbers': {
      const values = list(el.value, Number);
      return values.length === 0 && field.optional ? undefined : values;
    }
    case 'models':
      return el.value.split('\n').map((line) => line.split('=').map((s) => s.trim())).filter(([label, ref]) => label && ref).map(([label, hash]) => ({ label, hash }));
    default:
      return el.value.trim() === '' ? (field.key === 'initialModel' ? null : undefined) : el.value.trim();
  }
}

function input(field, id, siteNames) {
  switch (field.type) {
    case 'sites':
      return h('fieldset.sites', { id }, h('legend', {}, field.label), siteNames.map((s) => h('label.inline', {}, h('input', { type: 'checkbox', value: s, checked: true }), ` ${s}`)));
    case 'site':
      return h('select', { id }, siteNames.map((s) => h('option', { value: s }, s)));
    case 'select':
      return h('select', { id }, field.options.map((o) => h('option', { value: o, selected: o === field.value }, o)));
    case 'bool':
      return h('input', { id, type: 'checkbox', checked: field.value });
    case 'int':
    case 'number':
      return h('input', { id, type: 'number', step: field.type === 'int' ? 1 : 'any', value: field.value ?? '' });
    case 'models':
      return h('textarea', { id, rows: 3, spellcheck: false, value: field.value });
    default:
      return h('input', { id, type: 'text', value: field.value ?? '', spellcheck: false });
  }
}

/** The form for one kind; `spec()` reads it into a job spec. */
export function jobForm(kind, siteNames) {
  const fields = FIELDS[kind] ?? [name, sites];
  const inputs = fields.map((field, i) => ({ field, el: input(field, `field-${i}`, siteNames) }));
  // A hint describes its field (aria-describedby) without becoming part of the field's name.
  const rows = inputs.map(({ field, el }) => {
    if (field.type === 'sites') return el;
    if (field.hint) el.setAttribute('aria-describedby', `${el.id}-hint`);
    return h('div.field', {}, h('label', { for: el.id }, field.label), el, field.hint ? h('span.hint', { id: `${el.id}-hint` }, field.hint) : null);
  });
  return {
    element: h('div.job-fields', { 'data-kind': kind }, rows, NOTES[kind] ? h('p.hint.note', {}, NOTES[kind]) : null),
    spec() {
      const spec = {};
      for (const { field, el } of inputs) {
        const value = read(field, el);
        if (value === undefined) continue;
        const path = field.key.split('.');
        let at = spec;
        for (const key of path.slice(0, -1)) at = at[key] ??= {};
        at[path.at(-1)] = value;
      }
      return spec;
    },
  };
}
