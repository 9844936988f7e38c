/** Command-line flag parsing shared by the subcommands: every mistake becomes a UsageError. */
import { parseArgs } from 'node:util';
import { LAYOUTS, type Layout } from '@lgefed/shared/imaging/index';
import { UsageError } from './command.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;
export type FlagValue = string | boolean | undefined;
type Parsed<T extends FlagSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: boolean }>>;

/** The flags of `args` (no positionals allowed). */
export function parseFlags<T extends FlagSpec>(args: string[], spec: T): Parsed<T>['values'] {
  return parseFlagsAndPositionals(args, spec, false).values;
}

export function parseFlagsAndPositionals<T extends FlagSpec>(args: string[], spec: T, allowPositionals = true): Parsed<T> {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function required(value: FlagValue, flag: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`${flag} is required`);
  return value;
}

export function positiveInteger(value: FlagValue, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${String(value)}`);
  return n;
}

export function positiveNumber(value: FlagValue, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${flag} must be a positive number, got ${String(value)}`);
  return n;
}

export function integer(value: FlagValue, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, got ${String(value)}`);
  return n;
}

export function layoutOf(value: FlagValue): Layout | 'auto' {
  if (value === undefined) return 'auto';
  if (value === 'auto' || (LAYOUTS as readonly unknown[]).includes(value)) return value as Layout | 'auto';
  throw new UsageError(`--layout must be auto or one of ${LAYOUTS.join(', ')}`);
}
