import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { CoordinatorError } from '../errors.js';
import type { ValidatedLimits } from './job-schemas.js';
import type { WorkflowContext } from './workflow.js';

/**
 * What job specs need beyond their JSON Schema (job-schemas.ts checked the shapes): enrolled sites,
 * stored models, architectures that parse; every problem is one clear `invalid_argument`.
 */
export type SpecObject = Readonly<Record<string, unknown>>;

const bad = (message: string) => new CoordinatorError('invalid_argument', message);

export function asObject(value: unknown, what: string): SpecObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} must be an object`);
  return value as SpecObject;
}

/** The network a training job names, which must be one whose tensor layout results can be checked against. */
export function architecture(name: string): string {
  try {
    architectureFromName(name);
  } catch (err) {
    throw bad((err as Error).message);
  }
  return name;
}

/** A model named by its name or sha256, which must be in the coordinator's store; returns its hash. */
export function modelHash(value: string, key: string, ctx: WorkflowContext): string {
  const model = ctx.model(value);
  if (!model) throw bad(`${key}: unknown model ${JSON.stringify(value)}, neither a name nor a hash in the coordinator's model store (see lgefed coordinator models list)`);
  return model.hash;
}

/** Resolves a site name (as people write specs) to the id of an enrolled, unrevoked site. */
export function enrolledSite(name: string, ctx: WorkflowContext): string {
  const id = ctx.siteIdByName(name);
  const site = id === undefined ? undefined : ctx.site(id);
  if (!site) throw bad(`unknown site ${name}`);
  if (site.status !== 'enrolled') throw bad(`site ${name} is ${site.status}, not enrolled`);
  return site.id;
}

/** Enrolled site ids for the names of a spec's site list (the schema made them distinct strings). */
export function siteList(names: readonly string[], ctx: WorkflowContext): string[] {
  return names.map((name) => enrolledSite(name, ctx));
}

/** minSites defaults to every site named and can be no more. */
export function minSitesOf(minSites: number | undefined, siteCount: number): number {
  const value = minSites ?? siteCount;
  if (value > siteCount) throw bad(`minSites ${value} exceeds the ${siteCount} sites named`);
  return value;
}

export interface TaskLimits {
  readonly deadlineMs: number;
  readonly maxAttempts: number;
}

export function taskLimits(spec: ValidatedLimits): TaskLimits {
  return { deadlineMs: spec.deadlineSeconds * 1000, maxAttempts: spec.maxAttempts };
}
