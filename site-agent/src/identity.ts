import { generateKeyPair, loadPrivateKey, writeKeyPair, type SigningKey } from '@lgefed/protocol';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

interface EnrolmentRecord {
  readonly siteId: string;
  readonly coordinatorUrl: string;
  readonly kid: string;
  readonly enrolledAt: string;
}

/**
 * Presents the kit's one-time token with the site's public key, once: the record in the state dir
 * says it was done for this key, so restarts go straight to connecting.
 */
export async function ensureEnrolled(stateDir: string, kit: StartupKit, key: SigningKey): Promise<EnrolmentRecord> {
  const file = join(stateDir, 'enrolment.json');
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as EnrolmentRecord;
    if (record.siteId === kit.siteId && record.kid === key.kid) return record;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AgentError('enrolment_failed', `${file}: ${(err as Error).message}`);
  }
  let response: Response;
  try {
    response = await fetch(`${kit.coordinatorUrl}/api/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: kit.enrolmentToken, publicKey: { kty: key.publicJwk.kty, crv: key.publicJwk.crv, x: key.publicJwk.x } }),
    });
  } catch (err) {
    throw new AgentError('enrolment_failed', `cannot reach ${kit.coordinatorUrl}: ${(err as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { siteId?: string; error?: { code: string; message: string } };
  if (!response.ok) throw new AgentError('enrolment_failed', `coordinator refused enrolment: [${body.error?.code ?? response.status}] ${body.error?.message ?? response.statusText}`);
  if (body.siteId !== kit.siteId) throw new AgentError('enrolment_failed', `coordinator enrolled site ${body.siteId}, the kit is for ${kit.siteId}`);
  const record: EnrolmentRecord = { siteId: kit.siteId, coordinatorUrl: kit.coordinatorUrl, kid: key.kid, enrolledAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return record;
}
