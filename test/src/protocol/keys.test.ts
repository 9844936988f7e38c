import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  ProtocolError,
  generateKeyPair,
  importPublicJwk,
  loadPrivateKey,
  loadPublicKey,
  thumbprint,
  writeKeyPair,
  type ProtocolErrorCode,
} from '@lgefed/protocol';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../cli/bin/lgefed.js', import.meta.url));
const code = (expected: ProtocolErrorCode) => (err: unknown): boolean => err instanceof ProtocolError && err.code === expected;

describe('protocol keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lgefed-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('computes the RFC 7638 thumbprint (RFC 8037 appendix A.3 vector)', async () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } as const;
    assert.equal(await thumbprint(jwk), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('generates Ed25519 pairs whose kid is the thumbprint of the public key', async () => {
    const pair = await generateKeyPair();
    assert.equal(pair.publicJwk.kty, 'OKP');
    assert.equal(pair.publicJwk.crv, 'Ed25519');
    assert.equal(pair.kid, await thumbprint(pair.publicJwk));
    const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${pair.publicJwk.x}"}`;
    assert.equal(pair.kid, createHash('sha256').update(canonical).digest('base64url'));
    assert.ok(!('d' in pair.publicJwk));
  });

  it('writes the private key 0600 and the public key 0644, and loads them back', async () => {
    const pair = await generateKeyPair();
    const { privatePath, publicPath } = await writeKeyPair(dir, 'site-a', pair);
    assert.equal(statSync(privatePath).mode & 0o777, 0o600);
    assert.equal(statSync(publicPath).mode & 0o777, 0o644);
    assert.equal((await loadPrivateKey(privatePath)).kid, pair.kid);
    assert.equal((await loadPublicKey(publicPath)).kid, pair.kid);
    await assert.rejects(writeKeyPair(dir, 'site-a', await generateKeyPair()), /EEXIST/);
  });

  it('refuses private keys readable by others or the group', async () => {
    const { privatePath } = await writeKeyPair(dir, 'site-a', await generateKeyPair());
    for (const mode of [0o644, 0o604, 0o640]) {
      chmodSync(privatePath, mode);
      await assert.rejects(loadPrivateKey(privatePath), code('INSECURE_KEY_FILE'), mode.toString(8));
    }
    chmodSync(privatePath, 0o400);
    await loadPrivateKey(privatePath);
  });

  it('refuses malformed keys: wrong curve, private part in a public key, bad lengths, wrong kid', async () => {
    const pair = await generateKeyPair();
    await assert.rejects(importPublicJwk({ ...pair.publicJwk, crv: 'X25519' }), code('INVALID_KEY'));
    await assert.rejects(importPublicJwk({ kty: 'EC', crv: 'P-256', x: pair.publicJwk.x }), code('INVALID_KEY'));
    await assert.rejects(importPublicJwk(pair.privateJwk), code('INVALID_KEY'));
    await assert.rejects(importPublicJwk({ ...pair.publicJwk, x: pair.publicJwk.x.slice(1) }), code('INVALID_KEY'));
    await assert.rejects(importPublicJwk({ ...pair.publicJwk, kid: 'someone-else' }), code('INVALID_KEY'));
    const publicPath = join(dir, 'broken.public.jwk');
    writeFileSync(publicPath, '{not json');
    await assert.rejects(loadPublicKey(publicPath), code('INVALID_KEY'));
    const privatePath = join(dir, 'public-only.private.jwk');
    writeFileSync(privatePath, JSON.stringify(pair.publicJwk), { mode: 0o600 });
    await assert.rejects(loadPrivateKey(privatePath), code('INVALID_KEY'));
  });

  it('`lgefed keygen` writes a loadable pair and never overwrites it', async () => {
    const { stdout } = await run(process.execPath, [bin, 'keygen', '--out', dir, '--name', 'hospital-1']);
    const privatePath = join(dir, 'hospital-1.private.jwk');
    assert.equal(statSync(privatePath).mode & 0o777, 0o600);
    const key = await loadPrivateKey(privatePath);
    assert.match(stdout, new RegExp(`key id\\s+${key.kid}`));
    assert.equal(JSON.parse(readFileSync(join(dir, 'hospital-1.public.jwk'), 'utf8')).kid, key.kid);
    await assert.rejects(run(process.execPath, [bin, 'keygen', '--out', dir, '--name', 'hospital-1']), (err: { code: number }) => err.code === 1);
  });
});
