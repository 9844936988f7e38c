import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { CoordinatorError } from '../errors.js';
import type { WorkflowContext } from './workflow.js';

/** Small validators for job specs: every bad field becomes one clear `invalid_argument`. */
export type SpecObject = Readonly<Record<string, unknown>>;

const bad = (message: string) => new CoordinatorError('invalid_argument', message);

export function asObject(value: unknown, what: string): SpecObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} must be an object`);
  return value as SpecObject;
}

export function str(spec: SpecObject, key: string, fallback?: string): string {
  const v = spec[key] ?? fallback;
  if (typeof v !== 'string' || v.length === 0) throw bad(`${key} must be a non-empty string`);
  return v;
}

export function int(spec: SpecObject, key: string, min: number, fallback?: number): number {
  const v = spec[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`${key} must be an integer ≥ ${min}`);
  return v;
}

/** The network a training job names, which must be one whose tensor layout results can be checked against. */
export function architecture(spec: SpecObject): string {
  const name = str(spec, 'architecture');
  try {
    architectureFromName(name);
  } catch (err) {
    throw bad((err as Error).message);
  }
  return name;
}

/** A model named by its name or sha256, which must be in the coordinator's store; returns its hash. */
export function modelHash(value: unknown, key: string, ctx: WorkflowContext): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(`${key} must name a model (its name or sha256)`);
  const model = ctx.model(value);
  if (!model) throw bad(`${key}: unknown model ${JSON.stringify(value)}, neither a name nor a hash in the coordinator's model store (see lgefed coordinator models list)`);
  return model.hash;
}

/** Resolves a site name (as people write specs) to the id of an enrolled, unrevoked site. */
export function enrolledSite(name: unknown, ctx: WorkflowContext): string {
  if (typeof name !== 'string') throw bad('sites are named by strings');
  const id = ctx.siteIdByName(name);
  const site = id === undefined ? undefined : ctx.site(id);
  if (!site) throw bad(`unknown site ${name}`);
  if (site.status !== 'enrolled') throw bad(`site ${name} is ${site.status}, not enrolled`);
  return site.id;
}

export function siteList(spec: SpecObject, key: string, ctx: WorkflowContext): string[] {
  const v = spec[key];
  if (!Array.isArray(v) || v.length === 0) throw bad(`${key} must be a non-empty list of site names`);
  const ids = v.map((name) => enrolledSite(name, ctx));
  if (new Set(ids).size !== ids.length) throw bad(`${key} names a site twice`);
  return ids;
}

/** Training hyper-parameters: flat string/number/boolean values only. */
export function trainingConfig(value: unknown): Record<string, string | number | boolean> {
  const obj = asObject(value ?? {}, 'config');
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      throw bad(`config.${k} must be a string, finite number or boolean`);
    }
    out[k] = v;
  }
  return out;
}

export interface TaskLimits {
  readonly deadlineMs: number;
  readonly maxAttempts: number;
}

export function taskLimits(spec: SpecObject): TaskLimits {
  return { deadlineMs: int(spec, 'deadlineSeconds', 1, 3600) * 1000, maxAttempts: int(spec, 'maxAttempts', 1, 2) };
}
