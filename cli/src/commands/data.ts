import { parseArgs } from 'node:util';
import type { Spacing } from '@lgefed/shared';
import { checkDataset, LAYOUTS, parseLabelMap, type DatasetReport, type Layout } from '@lgefed/shared/imaging/index';
import { UsageError, type Command } from '../command.js';

function parseSpacing(text: string): Spacing {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || !parts.every((v) => Number.isFinite(v) && v > 0)) throw new UsageError(`--spacing must be X,Y,Z in mm (got '${text}')`);
  return parts as unknown as Spacing;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

function printReport(r: DatasetReport): void {
  const lines = [
    `dataset   ${r.root}`,
    `layout    ${r.layout}`,
    `cases     ${r.cases} usable (${r.labelledCases} labelled), ${r.slices} slices, ${r.problems.length} problem(s)`,
    `shapes    ${Object.entries(r.shapes).map(([s, n]) => `${s} ×${n}`).join(', ') || '-'}`,
    `spacing   ${r.spacing ? `${r.spacing.min.map(fmt).join('x')} .. ${r.spacing.max.map(fmt).join('x')} mm` : '-'}`,
    `labels    site values ${r.labelValues.join(', ') || '-'}${r.unknownLabelValues.length ? `; UNKNOWN ${r.unknownLabelValues.join(', ')} (set to background; map them with --labels)` : ''}`,
  ];
  if (r.perCase.some((c) => c.spacingAssumed)) lines.push('warning   PNG slices have no spacing.json and no --spacing: spacing was assumed');
  lines.push('', 'case                      dims            spacing (mm)        labels      intensity min/p1/mean/p99/max');
  for (const c of r.perCase) {
    lines.push(
      `${c.id.padEnd(25)} ${c.dims.join('x').padEnd(15)} ${c.spacing.map(fmt).join('x').padEnd(19)} ${(c.labelled ? c.labelValues.join(',') : 'none').padEnd(11)} ${[c.intensity.min, c.intensity.p1, c.intensity.mean, c.intensity.p99, c.intensity.max].map(fmt).join('/')}`,
    );
  }
  if (r.problems.length) {
    lines.push('', 'problems:');
    for (const p of r.problems) lines.push(`  [${p.code}] ${p.message}`);
  }
  console.log(lines.join('\n'));
}

/** `lgefed data check`: what a site's data holds and exactly what is wrong with each bad file. */
export const dataCheck: Command = {
  name: 'data check',
  summary: 'check a site dataset: counts, shapes, spacings, labels, intensities, bad files',
  usage: [
    'Usage: lgefed data check --data DIR [--layout auto|' + LAYOUTS.join('|') + '] [--labels SITE=OURS,...]',
    '                         [--spacing X,Y,Z] [--json]',
    '',
    'Reads the dataset (never modifies it) and reports cases, shapes, spacings, label values (ours:',
    '0 background, 1 LV blood pool, 2 myocardium), intensity statistics and every file that cannot be',
    'used, with its reason. --labels overrides the layout default mapping (e.g. 500=1,200=2,600=0);',
    '--spacing is used for PNG slices without spacing.json. Exit status 1 only when no case is usable.',
  ].join('\n'),
  async run(args) {
    let values: { data?: string; layout?: string; labels?: string; spacing?: string; json?: boolean };
    try {
      ({ values } = parseArgs({
        args,
        options: { data: { type: 'string' }, layout: { type: 'string' }, labels: { type: 'string' }, spacing: { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!values.data) throw new UsageError('--data DIR is required');
    const layout = (values.layout ?? 'auto') as Layout | 'auto';
    if (layout !== 'auto' && !LAYOUTS.includes(layout)) throw new UsageError(`unknown layout '${layout}'`);
    const report = await checkDataset(values.data, {
      layout,
      ...(values.labels ? { labelMap: parseLabelMap(values.labels) } : {}),
      ...(values.spacing ? { defaultSpacing: parseSpacing(values.spacing) } : {}),
    });
    if (values.json) console.log(JSON.stringify(report, null, 1));
    else printReport(report);
    return report.usable ? 0 : 1;
  },
};

export const dataCommands: readonly Command[] = [dataCheck];
