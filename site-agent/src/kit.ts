import { access, readFile } from 'node:fs/promises';
import { isLoopbackHost } from '@lgefed/shared/net/loopback';
import { AgentError } from './errors.js';

/** The startup kit `lgefed coordinator enroll` writes (lgefed-startup-kit/1). */
export interface StartupKit {
  readonly format: 'lgefed-startup-kit/1';
  readonly coordinatorUrl: string;
  readonly coordinatorPublicKey: unknown;
  readonly siteId: string;
  readonly siteName: string;
  readonly enrolmentToken: string;
  readonly tokenExpiresAt: string;
}

/** The kit, or undefined when the file does not exist (deleted after enrolment, as the docs ask). */
export async function loadStartupKitIfPresent(file: string): Promise<StartupKit | undefined> {
  try {
    await access(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  return loadStartupKit(file);
}

export async function loadStartupKit(file: string): Promise<StartupKit> {
  let kit: Partial<StartupKit>;
  try {
    kit = JSON.parse(await readFile(file, 'utf8')) as Partial<StartupKit>;
  } catch (err) {
    throw new AgentError('kit_invalid', `${file}: cannot read startup kit (${(err as Error).message})`);
  }
  if (kit.format !== 'lgefed-startup-kit/1') throw new AgentError('kit_invalid', `${file}: not an lgefed startup kit (format ${JSON.stringify(kit.format)})`);
  for (const field of ['coordinatorUrl', 'siteId', 'siteName', 'enrolmentToken'] as const) {
    if (typeof kit[field] !== 'string' || kit[field].length === 0) throw new AgentError('kit_invalid', `${file}: ${field} is missing`);
  }
  assertSecureCoordinatorUrl(kit.coordinatorUrl!, file);
  return kit as StartupKit;
}

/** https anywhere; http only to this machine, where nothing (token, kit, tasks) crosses a network in clear. */
function assertSecureCoordinatorUrl(coordinatorUrl: string, file: string): void {
  let url: URL;
  try {
    url = new URL(coordinatorUrl);
  } catch {
    throw new AgentError('kit_invalid', `${file}: coordinatorUrl is not a URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new AgentError('kit_invalid', `${file}: coordinatorUrl must be https`);
  if (!isLoopbackHost(url.hostname)) throw new AgentError('kit_invalid', `${file}: refusing plain http to ${url.host}: the coordinator must use https except on this machine (loopback)`);
}
