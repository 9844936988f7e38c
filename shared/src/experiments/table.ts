/** Tables 4 and 5 of the study as CSV and markdown: multi-centre combinations, fine-tuned vs from-scratch models. */
import { STRUCTURES } from '../types.js';
import type { DiceRow } from './arms.js';
import type { TransferRow } from './transfer.js';

/** One header row and body rows as CSV (quoted where needed) and as a markdown table. */
function renderTable(header: readonly string[], body: readonly string[][]): { csv: string; markdown: string } {
  const csv = [header, ...body].map((r) => r.map((v) => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',')).join('\n');
  const markdown = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  return { csv: `${csv}\n`, markdown: `${markdown}\n` };
}

function cell(rows: readonly DiceRow[], site: string, fraction: number, start: string, structure: string): string {
  const row = rows.find((r) => r.testSite === site && r['fraction'] === fraction && r['start'] === start && r.structure === structure);
  return row ? `${row.mean.toFixed(3)} ± ${row.sd.toFixed(3)}` : '';
}

export function fractionTable(rows: readonly DiceRow[]): { csv: string; markdown: string } {
  const sites = [...new Set(rows.map((r) => r.testSite))];
  const fractions = [...new Set(rows.map((r) => r['fraction'] as number))].sort((a, b) => a - b);
  const columns = STRUCTURES.flatMap((s) => [`${s} scratch`, `${s} fine-tuned`]);
  const body = sites.flatMap((site) =>
    fractions.map((fraction) => {
      const cases = rows.find((r) => r.testSite === site && r['fraction'] === fraction)?.['cases'] ?? '';
      return [site, `${Math.round(fraction * 100)} %`, String(cases), ...STRUCTURES.flatMap((s) => [cell(rows, site, fraction, 'scratch', s), cell(rows, site, fraction, 'finetuned', s)])];
    }),
  );
  return renderTable(['site', 'fraction', 'cases', ...columns], body);
}

/** The cine arm: one row per site and fraction, mean Dice per start (in `starts` order) and structure. */
export function startTable(rows: readonly DiceRow[], starts: readonly string[]): { csv: string; markdown: string } {
  const sites = [...new Set(rows.map((r) => r.testSite))];
  const fractions = [...new Set(rows.map((r) => r['fraction'] as number))].sort((a, b) => a - b);
  const body = sites.flatMap((site) =>
    fractions.map((fraction) => {
      const cases = rows.find((r) => r.testSite === site && r['fraction'] === fraction)?.['cases'] ?? '';
      return [site, fraction === 0 ? 'as is' : `${Math.round(fraction * 100)} %`, String(cases), ...STRUCTURES.flatMap((s) => starts.map((start) => cell(rows, site, fraction, start, s)))];
    }),
  );
  return renderTable(['site', 'fraction', 'cases', ...STRUCTURES.flatMap((s) => starts.map((start) => `${s} ${start}`))], body);
}

/** The transfer experiment: one row per arm and patient count, Dice and HD95 mean ± sd over the folds. */
export function transferTable(rows: readonly TransferRow[], armOrder: readonly string[]): { csv: string; markdown: string } {
  const keys = [...new Set(rows.map((r) => `${armOrder.indexOf(r.arm)}\u0000${r.cases}`))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const body = keys.map((key) => {
    const [armIndex, cases] = key.split('\u0000').map(Number) as [number, number];
    const arm = armOrder[armIndex]!;
    const of = (structure: string) => rows.find((r) => r.arm === arm && r.cases === cases && r.structure === structure);
    return [
      arm,
      String(cases),
      ...STRUCTURES.flatMap((s) => {
        const row = of(s);
        return [row ? `${row.mean.toFixed(3)} ± ${row.sd.toFixed(3)}` : '', row?.hd95 ? `${row.hd95.mean.toFixed(1)} ± ${row.hd95.sd.toFixed(1)}` : ''];
      }),
    ];
  });
  return renderTable(['arm', 'patients trained on', ...STRUCTURES.flatMap((s) => [`${s} Dice`, `${s} HD95 (mm)`])], body);
}

/**
 * Table 4: one row per combination and test site, mean Dice per arm and structure (the balanced
 * multi-centre design; every combination trained on the same total of cases).
 */
export function multicentreTable(rows: readonly DiceRow[], arms: readonly string[]): { csv: string; markdown: string } {
  const combinations = [...new Set(rows.map((r) => r['combination'] as string))];
  const sites = [...new Set(rows.map((r) => r.testSite))];
  const body = combinations.flatMap((combination) =>
    sites.map((site) => [
      combination,
      site,
      ...STRUCTURES.flatMap((s) =>
        arms.map((arm) => {
          const row = rows.find((r) => r['combination'] === combination && r.testSite === site && r['arm'] === arm && r.structure === s);
          return row ? `${row.mean.toFixed(3)} ± ${row.sd.toFixed(3)}` : '';
        }),
      ),
    ]),
  );
  return renderTable(['trained on', 'test site', ...STRUCTURES.flatMap((s) => arms.map((arm) => `${s} ${arm}`))], body);
}
