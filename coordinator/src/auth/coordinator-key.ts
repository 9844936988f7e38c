import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { CoordinatorError } from '../errors.js';

/** An Ed25519 key of the coordinator's: its federation identity (signs its messages) or its admin-token key. */
export interface CoordinatorKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Public half only; what startup kits carry so agents can pin it. */
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
}

/** The federation identity every site pins. */
export const IDENTITY_KEY_FILE = 'coordinator-key.json';
/** Signs admin tokens only, so a token never shares a key with what sites pin. */
export const ADMIN_TOKEN_KEY_FILE = 'admin-token-key.json';

/** Loads a key from the state directory, creating it (mode 0600) on first use. */
export async function loadOrCreateCoordinatorKey(stateDir: string, keyFile: string): Promise<CoordinatorKey> {
  const file = join(stateDir, keyFile);
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CoordinatorError('invalid_argument', `cannot read coordinator key ${file}: ${(err as Error).message}`);
    }
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    // 'wx': never overwrite a key another process created meanwhile.
    await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    });
  }
  return keyFromPrivateJwk(privateJwk);
}

async function keyFromPrivateJwk(privateJwk: JWK): Promise<CoordinatorKey> {
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || !privateJwk.d || !privateJwk.x) {
    throw new CoordinatorError('invalid_argument', 'coordinator key file does not hold an Ed25519 private JWK');
  }
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x };
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    privateKey: (await importJWK(privateJwk, 'EdDSA')) as CryptoKey,
    publicKey: (await importJWK(publicJwk, 'EdDSA')) as CryptoKey,
    publicJwk: { ...publicJwk, kid },
    kid,
  };
}

/** Checks a JWK is an Ed25519 public key and nothing more (a private part would mean a leaked key). */
export function assertEd25519PublicJwk(jwk: unknown): JWK {
  const k = jwk as Partial<JWK> | null;
  if (!k || typeof k !== 'object' || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(k.x)) {
    throw new CoordinatorError('invalid_argument', 'public key must be an Ed25519 JWK (kty OKP, crv Ed25519, x)');
  }
  if ('d' in k) throw new CoordinatorError('invalid_argument', 'refusing a JWK that contains a private key part');
  return { kty: 'OKP', crv: 'Ed25519', x: k.x };
}
