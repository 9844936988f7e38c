import type { JWK } from 'jose';
import { CoordinatorError } from './errors.js';
import type { Enrolment } from './store/sites.js';

/**
 * What `lgefed coordinator enroll` hands a site: enough to reach and authenticate the coordinator
 * and to enrol once. It holds no site private key: the agent makes its own on first start.
 */
export interface StartupKit {
  readonly format: 'lgefed-startup-kit/1';
  readonly coordinatorUrl: string;
  readonly coordinatorPublicKey: JWK;
  readonly siteId: string;
  readonly siteName: string;
  readonly enrolmentToken: string;
  readonly tokenExpiresAt: string;
}

export function buildStartupKit(coordinatorUrl: string, coordinatorPublicKey: JWK, enrolment: Enrolment): StartupKit {
  let url: URL;
  try {
    url = new URL(coordinatorUrl);
  } catch {
    throw new CoordinatorError('invalid_argument', `coordinator URL is not a URL: ${coordinatorUrl}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CoordinatorError('invalid_argument', 'coordinator URL must be http(s)');
  return {
    format: 'lgefed-startup-kit/1',
    coordinatorUrl: url.toString().replace(/\/$/, ''),
    coordinatorPublicKey,
    siteId: enrolment.site.id,
    siteName: enrolment.site.name,
    enrolmentToken: enrolment.token,
    tokenExpiresAt: new Date(enrolment.expiresAt).toISOString(),
  };
}
