import protobuf from 'protobufjs';
import {
  ReplayCache,
  Signer,
  Verifier,
  generateKeyPair,
  importPrivateJwk,
  importPublicJwk,
  type KeyPairJwk,
  type MessageTypeName,
  type MessageTypes,
  type SigningKey,
  type VerificationKey,
  type VerifierOptions,
} from '@lgefed/protocol';
import { messageType } from '@lgefed/protocol/schema';

/**
 * A message of `name` with every field set to a non-default value derived from `seed`, built from
 * the schema itself so a new field is covered without touching the tests.
 */
export function sampleMessage<K extends MessageTypeName>(name: K, seed = 1): MessageTypes[K] {
  return sampleOf(messageType(name), seed) as unknown as MessageTypes[K];
}

function sampleOf(type: protobuf.Type, seed: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  type.fieldsArray.forEach((field, i) => {
    const one = (k: number): unknown => {
      const v = seed + i + k;
      const resolved = field.resolvedType;
      if (resolved instanceof protobuf.Type) return sampleOf(resolved, v);
      if (resolved instanceof protobuf.Enum) {
        const names = Object.keys(resolved.values).filter((n) => resolved.values[n] !== 0);
        return names[v % names.length];
      }
      switch (field.type) {
        case 'string':
          return `${field.name}-${v}-é✓`;
        case 'bytes':
          return Uint8Array.from({ length: 32 }, (_, j) => (v * 31 + j) & 0xff);
        case 'bool':
          return true;
        case 'float':
          return Math.fround(v + 0.25);
        case 'double':
          return v + 0.125;
        default:
          return v + 1;
      }
    };
    out[field.name] = field.repeated ? [one(0), one(1)] : one(0);
  });
  return out;
}

export interface Party {
  readonly pair: KeyPairJwk;
  readonly signing: SigningKey;
  readonly verification: VerificationKey;
}

export async function makeParty(): Promise<Party> {
  const pair = await generateKeyPair();
  return { pair, signing: await importPrivateJwk(pair.privateJwk), verification: await importPublicJwk(pair.publicJwk) };
}

/** A signer for `party` and a verifier that pins it as `sender`. */
export function channel(
  party: Party,
  options: { sender?: string; now?: () => number; verifier?: Partial<VerifierOptions> } = {},
): { signer: Signer; verifier: Verifier } {
  const clock = options.now ?? Date.now;
  return {
    signer: new Signer(party.signing, { clock }),
    verifier: new Verifier({
      senders: [{ id: options.sender ?? 'site-a', key: party.verification }],
      replayCache: new ReplayCache(),
      clock,
      ...options.verifier,
    }),
  };
}
