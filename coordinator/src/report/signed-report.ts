import { createHash } from 'node:crypto';
import { CompactSign, compactVerify, importJWK, type CryptoKey, type JWK } from 'jose';
import type { CoordinatorKey } from '../auth/coordinator-key.js';
import { CoordinatorError } from '../errors.js';
import type { AuditHead } from '../store/audit-log.js';
import type { JobFigures } from './job-figures.js';

/** `typ` of a report attestation: never an envelope sites would accept, never an admin token. */
export const REPORT_ATTESTATION_TYPE = 'lgefed-report+jws';

/**
 * What the coordinator signs about a job report: which job, in which state, the SHA-256 of the
 * report's exact `report.json` bytes, and the audit chain's head when it signed, so the report is
 * anchored in the append-only log (the audit event at `audit.seq` must carry `audit.hash`).
 */
export interface ReportAttestation {
  readonly jobId: string;
  readonly kind: string;
  readonly status: string;
  readonly reportSha256: string;
  readonly audit: AuditHead;
  /** Seconds since the epoch. */
  readonly iat: number;
}

/** The report's JSON exactly as `report.json` holds it: the bytes an attestation's digest covers. */
export function reportJson(figures: JobFigures): string {
  return `${JSON.stringify(figures, null, 2)}\n`;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A JWS (EdDSA, the coordinator's federation identity key) over the report's attestation. */
export async function attestReport(figures: JobFigures, head: AuditHead, key: CoordinatorKey, now = Date.now()): Promise<string> {
  const attestation: ReportAttestation = { jobId: figures.job.id, kind: figures.job.kind, status: figures.job.status, reportSha256: sha256(reportJson(figures)), audit: head, iat: Math.floor(now / 1000) };
  return new CompactSign(Buffer.from(JSON.stringify(attestation))).setProtectedHeader({ alg: 'EdDSA', typ: REPORT_ATTESTATION_TYPE, kid: key.kid }).sign(key.privateKey);
}

/**
 * Checks an attestation against the coordinator's public key and a `report.json` text; returns
 * what it attests. Throws `invalid_argument` saying what does not hold.
 */
export async function verifyReportAttestation(jws: string, publicJwk: JWK, reportText: string): Promise<ReportAttestation> {
  const bad = (why: string) => new CoordinatorError('invalid_argument', `report attestation: ${why}`);
  let payload: Uint8Array;
  try {
    const key = (await importJWK({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x } as JWK, 'EdDSA')) as CryptoKey;
    const verified = await compactVerify(jws.trim(), key, { algorithms: ['EdDSA'] });
    if (verified.protectedHeader.typ !== REPORT_ATTESTATION_TYPE) throw bad(`typ ${String(verified.protectedHeader.typ)}, not ${REPORT_ATTESTATION_TYPE}`);
    payload = verified.payload;
  } catch (err) {
    if (err instanceof CoordinatorError) throw err;
    throw bad(`the signature does not verify with this coordinator's key (${(err as Error).message})`);
  }
  const attestation = JSON.parse(Buffer.from(payload).toString('utf8')) as ReportAttestation;
  const actual = sha256(reportText);
  if (actual !== attestation.reportSha256) throw bad(`report.json has SHA-256 ${actual}, the coordinator signed ${attestation.reportSha256}: it was changed after signing`);
  return attestation;
}
