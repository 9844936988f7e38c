/**
 * Writes the job-spec schemas into `openapi.yaml` (`npm run openapi -w coordinator`), so the document
 * shows exactly what the coordinator validates submissions against. JSON is YAML: each schema is one
 * flow-style line between the markers.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JOB_SCHEMAS } from '../workflow/job-schemas.js';

const BEGIN = '    # BEGIN job specs: generated from src/workflow/job-schemas.ts by `npm run openapi -w coordinator`';
const END = '    # END job specs';

/** `harmonisation-check` → `HarmonisationCheckSpec`. */
export function specSchemaName(kind: string): string {
  return `${kind.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase())}Spec`;
}

/** The document with its job-spec block replaced by the current schemas. */
export function withJobSpecs(yaml: string): string {
  const start = yaml.indexOf(BEGIN);
  const end = yaml.indexOf(END);
  if (start < 0 || end < start) throw new Error(`openapi.yaml lacks the job-spec markers ("${BEGIN.trim()}" … "${END.trim()}")`);
  const lines = Object.entries(JOB_SCHEMAS).map(([kind, schema]) => `    ${specSchemaName(kind)}: ${JSON.stringify(schema)}`);
  return `${yaml.slice(0, start)}${[BEGIN, ...lines].join('\n')}\n${yaml.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
  const updated = withJobSpecs(await readFile(file, 'utf8'));
  await writeFile(`${file}.tmp`, updated);
  await rename(`${file}.tmp`, file);
  console.log(`wrote the job-spec schemas into ${file}`);
}
