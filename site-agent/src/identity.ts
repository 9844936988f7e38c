import { generateKeyPair, loadPrivateKey, writeKeyPair, type SigningKey } from '@lgefed/protocol';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeConnectionError } from './connection-errors.js';
import { AgentError } from './errors.js';
import type { StartupKit } from './kit.js';

const KEY_NAME = 'site';

/** The site's Ed25519 key: made on first start in the state dir (private part 0600, never sent). */
export async function loadOrCreateSiteKey(stateDir: string): Promise<{ key: SigningKey; created: boolean }> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, `${KEY_NAME}.private.jwk`);
  try {
    return { key: await loadPrivateKey(path), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeKeyPair(stateDir, KEY_NAME, await generateKeyPair());
  return { key: await loadPrivateKey(path), created: true };
}

/**
 * What the agent keeps after enrolling: everything it needs to connect again, so the startup kit
 * (which holds the one-time token) is needed only once.
 */
export interface EnrolmentRecord {
  readonly siteId: string;
  readonly siteName: string;
  readonly coordinatorUrl: string;
  readonly coordinatorPublicKey: unknown;
  readonly kid: string;
  readonly enrolledAt: string;
}

async function readRecord(file: string): Promise<Partial<EnrolmentRecord> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Partial<EnrolmentRecord>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError('enrolment_failed', `${file}: ${(err as Error).message}`);
  }
}

/**
 * Presents the kit's one-time token with the site's public key, once: the record in the state dir
 * says it was done for this key, so restarts go straight to connecting, with or without the kit.
 */
export async function ensureEnrolled(stateDir: string, kit: StartupKit | undefined, key: SigningKey): Promise<EnrolmentRecord> {
  const file = join(stateDir, 'enrolment.json');
  const kept = await readRecord(file);
  if (kept && kept.kid === key.kid && (!kit || kept.siteId === kit.siteId)) {
    // Records written before they kept the whole identity take the rest from the kit.
    const record = { ...(kit ? { siteName: kit.siteName, coordinatorPublicKey: kit.coordinatorPublicKey } : {}), ...kept } as Partial<EnrolmentRecord>;
    if (record.siteName !== undefined && record.coordinatorPublicKey !== undefined) return record as EnrolmentRecord;
    throw new AgentError('kit_invalid', `${file} predates kept identities: start once more with --kit (the kit it was enrolled with)`);
  }
  if (!kit) throw new AgentError('kit_invalid', `this site is not enrolled yet (no ${file} for its key): start it once with --kit kit.json from lgefed coordinator enroll`);
  let response: Response;
  try {
    response = await fetch(`${kit.coordinatorUrl}/api/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: kit.enrolmentToken, publicKey: { kty: key.publicJwk.kty, crv: key.publicJwk.crv, x: key.publicJwk.x } }),
    });
  } catch (err) {
    throw new AgentError('enrolment_failed', describeConnectionError(kit.coordinatorUrl, err));
  }
  const body = (await response.json().catch(() => ({}))) as { siteId?: string; error?: { code: string; message: string } };
  if (!response.ok) throw new AgentError('enrolment_failed', `coordinator refused enrolment: [${body.error?.code ?? response.status}] ${body.error?.message ?? response.statusText}`);
  if (body.siteId !== kit.siteId) throw new AgentError('enrolment_failed', `coordinator enrolled site ${body.siteId}, the kit is for ${kit.siteId}`);
  const record: EnrolmentRecord = {
    siteId: kit.siteId,
    siteName: kit.siteName,
    coordinatorUrl: kit.coordinatorUrl,
    coordinatorPublicKey: kit.coordinatorPublicKey,
    kid: key.kid,
    enrolledAt: new Date().toISOString(),
  };
  await writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return record;
}
