/** Table 5: Dice of fine-tuned vs from-scratch models per data fraction, as CSV and markdown. */
import { STRUCTURES } from '../types.js';
import type { DiceRow } from './arms.js';

function cell(rows: readonly DiceRow[], site: string, fraction: number, start: string, structure: string): string {
  const row = rows.find((r) => r.testSite === site && r['fraction'] === fraction && r['start'] === start && r.structure === structure);
  return row ? `${row.mean.toFixed(3)} ± ${row.sd.toFixed(3)}` : '';
}

export function fractionTable(rows: readonly DiceRow[]): { csv: string; markdown: string } {
  const sites = [...new Set(rows.map((r) => r.testSite))];
  const fractions = [...new Set(rows.map((r) => r['fraction'] as number))].sort((a, b) => a - b);
  const columns = STRUCTURES.flatMap((s) => [`${s} scratch`, `${s} fine-tuned`]);
  const header = ['site', 'fraction', 'cases', ...columns];
  const body = sites.flatMap((site) =>
    fractions.map((fraction) => {
      const cases = rows.find((r) => r.testSite === site && r['fraction'] === fraction)?.['cases'] ?? '';
      return [site, `${Math.round(fraction * 100)} %`, String(cases), ...STRUCTURES.flatMap((s) => [cell(rows, site, fraction, 'scratch', s), cell(rows, site, fraction, 'finetuned', s)])];
    }),
  );
  const csv = [header, ...body].map((r) => r.map((v) => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',')).join('\n');
  const markdown = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  return { csv: `${csv}\n`, markdown: `${markdown}\n` };
}
