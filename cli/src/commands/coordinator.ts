import { writeFile } from 'node:fs/promises';
import { MAX_ADMIN_TOKEN_TTL_S, type AdminRole } from '@lgefed/coordinator/auth/admin-tokens';
import { importModelDirectory } from '@lgefed/coordinator/model-import';
import { startCoordinator } from '@lgefed/coordinator/server';
import { buildStartupKit, type StartupKit } from '@lgefed/coordinator/startup-kit';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { UsageError, type Command } from '../command.js';
import { parseFlags as options, parseFlagsAndPositionals, required } from '../flags.js';

export const coordinatorStart: Command = {
  name: 'coordinator start',
  summary: 'run the coordinator (REST admin API and the signed socket.io site channel; state in SQLite)',
  usage: `Usage: lgefed coordinator start --state DIR [--port 8443] [--host 127.0.0.1] [--public-url URL]
                               [--tls-cert cert.pem --tls-key key.pem] [--heartbeat-seconds 5]
                               [--insecure-http] [--rate-limit 1200]

Serves the admin REST API and the site channel (socket.io; HTTPS/WSS when given a certificate)
and resumes unfinished jobs. Sites connect with \`lgefed site start\`. Without a certificate it
listens on loopback only (e.g. behind a TLS proxy); --insecure-http allows plain HTTP elsewhere.
--rate-limit: REST requests per client address and minute (behind a proxy every client is one
address: raise it there, and limit per client in the proxy).`,
  async run(args) {
    const o = options(args, { state: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'public-url': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'heartbeat-seconds': { type: 'string' }, 'insecure-http': { type: 'boolean' }, 'rate-limit': { type: 'string' } });
    const heartbeatIntervalS = Number(o['heartbeat-seconds'] ?? 5);
    if (!(heartbeatIntervalS > 0)) throw new UsageError('--heartbeat-seconds must be positive');
    if (Boolean(o['tls-cert']) !== Boolean(o['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
    const maxRequests = Number(o['rate-limit'] ?? 1200);
    if (!Number.isInteger(maxRequests) || maxRequests < 1) throw new UsageError('--rate-limit must be a positive integer');
    const port = Number(o.port ?? 8443);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
    const running = await startCoordinator({
      stateDir: required(o.state, '--state'),
      port,
      ...(o.host ? { host: o.host } : {}),
      ...(o['public-url'] ? { publicUrl: o['public-url'] } : {}),
      ...(o['tls-cert'] ? { tlsCert: o['tls-cert'], tlsKey: o['tls-key']! } : {}),
      ...(o['insecure-http'] ? { insecureHttp: true } : {}),
      rateLimit: { maxRequests },
      siteChannel: { heartbeatIntervalS },
    });
    console.log(`coordinator listening on ${running.url} (state ${o.state})`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(s));
    });
    // Every job's state is already in SQLite: stopping only closes the sockets and the database.
    console.log(`coordinator stopping (${signal}): closing site and console connections`);
    await running.close();
    console.log('coordinator stopped; unfinished jobs resume at the next start');
    return 0;
  },
};

/** Writes a kit to `out` (owner-only: it holds a token) or prints it. */
export async function writeStartupKit(kit: StartupKit, out: string | undefined): Promise<void> {
  if (!out) return console.log(JSON.stringify(kit, null, 2));
  await writeFile(out, JSON.stringify(kit, null, 2) + '\n', { mode: 0o600 });
  console.log(`startup kit for ${kit.siteName} written to ${out} (token expires ${kit.tokenExpiresAt}; earlier tokens for the site are revoked)`);
}

export const coordinatorEnroll: Command = {
  name: 'coordinator enroll',
  summary: 'create a site and write its startup kit (one-time enrolment token)',
  usage: `Usage: lgefed coordinator enroll --state DIR --site NAME [--url URL] [--ttl-hours 72] [--out kit.json]

Writes the startup kit (coordinator URL and public key, site id, one-time token with expiry).
The URL defaults to the one the coordinator last announced.`,
  async run(args) {
    const o = options(args, { state: { type: 'string' }, site: { type: 'string' }, url: { type: 'string' }, 'ttl-hours': { type: 'string' }, out: { type: 'string' } });
    const ttlHours = Number(o['ttl-hours'] ?? 72);
    if (!(ttlHours > 0)) throw new UsageError('--ttl-hours must be positive');
    const state = await openCoordinatorState(required(o.state, '--state'));
    try {
      const url = o.url ?? state.setting('public_url');
      if (!url) throw new UsageError('no coordinator URL known yet: pass --url');
      const enrolment = state.sites.createEnrolment(required(o.site, '--site'), ttlHours * 3600_000, 'cli');
      await writeStartupKit(buildStartupKit(url, state.key.publicJwk, enrolment), o.out);
      return 0;
    } finally {
      state.close();
    }
  },
};

export const coordinatorRevoke: Command = {
  name: 'coordinator revoke',
  summary: 'revoke a site: its key is no longer trusted and it gets no more tasks',
  usage: 'Usage: lgefed coordinator revoke --state DIR --site NAME [--reason TEXT]',
  async run(args) {
    const o = options(args, { state: { type: 'string' }, site: { type: 'string' }, reason: { type: 'string' } });
    const state = await openCoordinatorState(required(o.state, '--state'));
    try {
      const site = state.sites.revoke(required(o.site, '--site'), o.reason ?? 'revoked from the CLI', 'cli');
      console.log(`site ${site.name} (${site.id}) revoked`);
      return 0;
    } finally {
      state.close();
    }
  },
};

export const coordinatorToken: Command = {
  name: 'coordinator token',
  summary: 'issue an admin API token (JWT, role admin or viewer)',
  usage: `Usage: lgefed coordinator token --state DIR --subject NAME [--role admin|viewer] [--ttl-hours 12]

Signed with the admin-token key (not the federation key sites pin); at most ${MAX_ADMIN_TOKEN_TTL_S / 3600} hours.
Its id is in the audit log (admin.token_issued); lgefed admin token revoke refuses it from then on.`,
  async run(args) {
    const o = options(args, { state: { type: 'string' }, subject: { type: 'string' }, role: { type: 'string' }, 'ttl-hours': { type: 'string' } });
    const role = (o.role ?? 'viewer') as AdminRole;
    if (role !== 'admin' && role !== 'viewer') throw new UsageError('--role must be admin or viewer');
    const state = await openCoordinatorState(required(o.state, '--state'));
    try {
      console.log(await state.adminTokens.issue({ subject: required(o.subject, '--subject'), role }, Number(o['ttl-hours'] ?? 12) * 3600));
      return 0;
    } finally {
      state.close();
    }
  },
};

export const coordinatorModelsImport: Command = {
  name: 'coordinator models import',
  summary: "copy a model directory (spec.json + weights.bin) into the coordinator's store under a name",
  usage: `Usage: lgefed coordinator models import --state DIR MODEL_DIR [--name NAME]

Stores the model's weights under their sha256 and registers them under NAME (default: the
directory's name), so job specs may name the model either way. The shipped EMIDEC model is
imported as emidec-unet-lite when the coordinator first starts.`,
  async run(args) {
    const { values, positionals } = parseFlagsAndPositionals(args, { state: { type: 'string' }, name: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('give exactly one model directory');
    const state = await openCoordinatorState(required(values.state, '--state'));
    try {
      const model = await importModelDirectory(state, positionals[0]!, values.name);
      console.log(`imported ${model.name} (${model.architecture}, ${model.parameterCount} parameters) as ${model.hash}`);
      return 0;
    } finally {
      state.close();
    }
  },
};

export const coordinatorModelsList: Command = {
  name: 'coordinator models list',
  summary: "list the models in the coordinator's store (name, hash, architecture, origin)",
  usage: 'Usage: lgefed coordinator models list --state DIR',
  async run(args) {
    const o = options(args, { state: { type: 'string' } });
    const state = await openCoordinatorState(required(o.state, '--state'));
    try {
      for (const m of state.jobs.models()) console.log(`${(m.name ?? '-').padEnd(20)} ${m.hash}  ${m.architecture.padEnd(12)} ${String(m.parameterCount).padStart(9)}  ${m.origin}`);
      return 0;
    } finally {
      state.close();
    }
  },
};

export const coordinatorCommands: readonly Command[] = [coordinatorStart, coordinatorEnroll, coordinatorRevoke, coordinatorToken, coordinatorModelsImport, coordinatorModelsList];
