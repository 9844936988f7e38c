import { open, mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import * as jose from 'jose';
import { ProtocolError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;

/** An Ed25519 public key as a JWK (RFC 8037). */
export interface PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid?: string;
  readonly alg?: 'EdDSA';
  readonly use?: 'sig';
}

/** An Ed25519 private key as a JWK: the public part plus the secret `d`. */
export interface PrivateJwk extends PublicJwk {
  readonly d: string;
}

export interface KeyPairJwk {
  /** RFC 7638 thumbprint of the public key: the `kid` every envelope it signs carries. */
  readonly kid: string;
  readonly privateJwk: PrivateJwk;
  readonly publicJwk: PublicJwk;
}

/** What a Signer needs. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

/** What a Verifier pins for a sender. */
export interface VerificationKey {
  readonly kid: string;
  readonly publicKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

const ED25519_KEY_BYTES = 32;

export async function generateKeyPair(): Promise<KeyPairJwk> {
  const { privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const exported = await jose.exportJWK(privateKey);
  const privateJwk = checkJwk(exported, 'private') as PrivateJwk;
  const publicOnly = publicPart(privateJwk);
  const kid = await thumbprint(publicOnly);
  return {
    kid,
    privateJwk: { ...privateJwk, kid, alg: 'EdDSA', use: 'sig' },
    publicJwk: { ...publicOnly, kid, alg: 'EdDSA', use: 'sig' },
  };
}

/** RFC 7638 SHA-256 thumbprint (base64url) of an Ed25519 public key; the `kid` of its envelopes. */
export async function thumbprint(jwk: PublicJwk): Promise<string> {
  const checked = checkJwk(jwk, 'public');
  return jose.calculateJwkThumbprint({ kty: checked.kty, crv: checked.crv, x: checked.x }, 'sha256');
}

export async function importPrivateJwk(jwk: unknown): Promise<SigningKey> {
  const checked = checkJwk(jwk, 'private') as PrivateJwk;
  const publicJwk = publicPart(checked);
  const kid = await thumbprint(publicJwk);
  if (checked.kid !== undefined && checked.kid !== kid) {
    throw new ProtocolError('INVALID_KEY', `key id ${checked.kid} is not the thumbprint of the key (${kid})`);
  }
  const privateKey = (await jose.importJWK({ ...checked }, 'EdDSA')) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...publicJwk, kid } };
}

export async function importPublicJwk(jwk: unknown): Promise<VerificationKey> {
  const checked = checkJwk(jwk, 'public');
  const publicJwk = publicPart(checked);
  const kid = await thumbprint(publicJwk);
  if (checked.kid !== undefined && checked.kid !== kid) {
    throw new ProtocolError('INVALID_KEY', `key id ${checked.kid} is not the thumbprint of the key (${kid})`);
  }
  const publicKey = (await jose.importJWK({ ...publicJwk }, 'EdDSA')) as CryptoKey;
  return { kid, publicKey, publicJwk: { ...publicJwk, kid } };
}

/** Writes NAME.private.jwk (mode 0600, never overwritten) and NAME.public.jwk into `dir`. */
export async function writeKeyPair(dir: string, name: string, pair: KeyPairJwk): Promise<{ privatePath: string; publicPath: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new ProtocolError('INVALID_KEY', `invalid key name '${name}'`);
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, `${name}.private.jwk`);
  const publicPath = join(dir, `${name}.public.jwk`);
  // 'wx' refuses to clobber an existing key; the mode applies at creation, chmod guards against umask.
  const handle = await open(privatePath, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${JSON.stringify(pair.privateJwk, null, 2)}\n`);
  } finally {
    await handle.close();
  }
  await writeFile(publicPath, `${JSON.stringify(pair.publicJwk, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
  await chmod(publicPath, 0o644);
  return { privatePath, publicPath };
}

/** Loads a private JWK file; refuses one that group or others can read or write (like ssh). */
export async function loadPrivateKey(path: string): Promise<SigningKey> {
  const handle = await open(path, 'r');
  try {
    // fstat the open file so a swap between the check and the read cannot slip through.
    const { mode } = await handle.stat();
    if ((mode & 0o077) !== 0) {
      throw new ProtocolError(
        'INSECURE_KEY_FILE',
        `private key ${path} has mode ${(mode & 0o777).toString(8)}; it must not be accessible to group or others (chmod 600)`,
        { path },
      );
    }
    return await importPrivateJwk(parseJson(await handle.readFile('utf8'), path));
  } finally {
    await handle.close();
  }
}

export async function loadPublicKey(path: string): Promise<VerificationKey> {
  const handle = await open(path, 'r');
  try {
    return await importPublicJwk(parseJson(await handle.readFile('utf8'), path));
  } finally {
    await handle.close();
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError('INVALID_KEY', `${path} is not JSON`, { path }, { cause });
  }
}

function publicPart(jwk: PublicJwk): PublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}

/** Checks shape and sizes; a public key must not carry the secret, a private one must. */
function checkJwk(jwk: unknown, kind: 'public' | 'private'): PublicJwk {
  if (typeof jwk !== 'object' || jwk === null) throw new ProtocolError('INVALID_KEY', 'a JWK must be a JSON object');
  const k = jwk as Record<string, unknown>;
  if (k.kty !== 'OKP' || k.crv !== 'Ed25519') throw new ProtocolError('INVALID_KEY', 'only Ed25519 keys (kty OKP, crv Ed25519) are accepted');
  if (k.alg !== undefined && k.alg !== 'EdDSA' && k.alg !== 'Ed25519') throw new ProtocolError('INVALID_KEY', `key is for ${String(k.alg)}, not EdDSA`);
  if (k.kid !== undefined && typeof k.kid !== 'string') throw new ProtocolError('INVALID_KEY', 'kid must be a string');
  if (!isKeyBytes(k.x)) throw new ProtocolError('INVALID_KEY', 'x must be 32 base64url-encoded bytes');
  if (kind === 'private' && !isKeyBytes(k.d)) throw new ProtocolError('INVALID_KEY', 'a private key needs d (32 base64url-encoded bytes)');
  if (kind === 'public' && k.d !== undefined) throw new ProtocolError('INVALID_KEY', 'a public key must not contain the private part d');
  return k as unknown as PublicJwk;
}

function isKeyBytes(value: unknown): boolean {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value) && Buffer.from(value, 'base64url').length === ED25519_KEY_BYTES;
}
