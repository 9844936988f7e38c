import { Niivue } from './vendor/niivue.js';
import { caseDiceSpec, harmonisationDistancesSpec, intensityHistogramsSpec } from './lib/figures.js';

// Label colours: 0 transparent, 1 blood pool red, 2 myocardium yellow (matches the legend).
const LABEL_COLOURS = { R: [0, 255, 255], G: [0, 60, 200], B: [0, 60, 0], A: [0, 255, 255], I: [0, 1, 2], labels: ['background', 'blood pool', 'myocardium'] };
const $ = (id) => document.getElementById(id);
const fmt = (v) => (v === null || v === undefined ? '—' : v.toFixed(3));

function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

const embed = (target, spec) => window.vegaEmbed(target, spec, { actions: false, renderer: 'svg' });

const review = await (await fetch('api/review')).json();
// A thin cyan crosshair, so it cannot be mistaken for the red/yellow label colours.
const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: false, isColorbar: false, crosshairColor: [0, 0.8, 1, 0.5], crosshairWidth: 1 });
await nv.attachToCanvas($('viewer'));
let current = null;

async function show(index) {
  const c = review.cases[index];
  current = c;
  for (const row of document.querySelectorAll('tr.case')) row.classList.toggle('selected', Number(row.dataset.index) === index);
  $('case-title').textContent = `${c.id} (${c.file}) · ${c.dims.join('×')} voxels · ${c.spacing.map((s) => s.toFixed(2)).join('×')} mm`;
  $('show-label').disabled = !c.hasLabel;
  const which = c.hasLabel && document.querySelector('input[name=overlay]:checked').value === 'label' ? 'label' : 'prediction';
  await nv.loadVolumes([
    { url: `volumes/${index}/image.nii`, name: `${c.id}-image.nii`, colormap: 'gray' },
    { url: `volumes/${index}/${which}.nii`, name: `${c.id}-${which}.nii`, opacity: Number($('opacity').value) },
  ]);
  nv.volumes[1].setColormapLabel(LABEL_COLOURS);
  nv.updateGLVolume();
  nv.setSliceType(nv.sliceTypeAxial);
  document.body.dataset.loaded = `${c.id}:${which}`;
  $('case-scores').textContent = c.scores
    ? `Dice blood pool ${fmt(c.scores.bloodpool.dice)}, myocardium ${fmt(c.scores.myocardium.dice)} · HD95 ${fmt(c.scores.bloodpool.hd95Mm)} / ${fmt(c.scores.myocardium.hd95Mm)} mm · myocardium ${c.scores.myocardium.predictedMl.toFixed(1)} ml predicted, ${c.scores.myocardium.trueMl.toFixed(1)} ml labelled`
    : 'No reference labels for this case: segmentation only.';
}

$('case-rows').append(
  ...review.cases.map((c) =>
    el(
      'tr',
      { className: 'case', onclick: () => show(c.index) },
      el('td', {}, c.id),
      el('td', { className: c.scores && c.scores.bloodpool.dice < 0.7 ? 'low' : '' }, c.scores ? fmt(c.scores.bloodpool.dice) : '—'),
      el('td', { className: c.scores && c.scores.myocardium.dice < 0.7 ? 'low' : '' }, c.scores ? fmt(c.scores.myocardium.dice) : '—'),
    ),
  ),
);
for (const [i, row] of [...document.querySelectorAll('tr.case')].entries()) row.dataset.index = String(i);
const diceRows = review.cases.filter((c) => c.scores).flatMap((c) => [
  { caseId: c.id, structure: 'blood pool', dice: c.scores.bloodpool.dice },
  { caseId: c.id, structure: 'myocardium', dice: c.scores.myocardium.dice },
]);
if (diceRows.length) await embed($('dice-chart'), caseDiceSpec(diceRows));

const h = review.harmonisation;
const flagged = h.cases.filter((c) => c.flagged).map((c) => c.caseId);
$('harmonisation-note').append(`Each case's normalised intensities against the ${h.comparedWith} distribution. `, el('span', { className: flagged.length ? 'flagged' : '' }, flagged.length ? `Unusual: ${flagged.join(', ')}.` : 'No case stands out.'));
await embed($('distance-chart'), harmonisationDistancesSpec(h.cases.map((c) => ({ site: c.caseId, wasserstein1: c.wasserstein1, jensenShannon: c.jensenShannon, flagged: c.flagged })), h.flagWasserstein, 'Distance per case'));
await embed($('histogram-chart'), intensityHistogramsSpec(h.histograms, 'Normalised intensity histograms', h.comparedWith));

for (const input of document.querySelectorAll('input[name=overlay]')) input.addEventListener('change', () => current && show(current.index));
$('opacity').addEventListener('input', () => {
  if (!nv.volumes[1]) return;
  nv.setOpacity(1, Number($('opacity').value));
  document.body.dataset.opacity = $('opacity').value;
});
if (review.cases.length) await show(0);
