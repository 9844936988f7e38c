import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ProtocolError } from './errors.js';
import type { MessageTypeName, MessageTypes } from './messages.generated.js';

/** The .proto shipped with this package; loaded by reflection, so nothing is generated at run time. */
export const PROTO_FILE = fileURLToPath(new URL('../lgefed.proto', import.meta.url));
export const PROTO_PACKAGE = 'lgefed.v1';

let loaded: protobuf.Root | undefined;

/** The parsed schema (loaded once, with the .proto comments kept for code generation). */
export function schemaRoot(): protobuf.Root {
  if (!loaded) {
    loaded = new protobuf.Root().loadSync(PROTO_FILE, { keepCase: false, alternateCommentMode: true });
    loaded.resolveAll();
  }
  return loaded;
}

export function messageType(name: MessageTypeName): protobuf.Type {
  return schemaRoot().lookupType(`${PROTO_PACKAGE}.${name}`);
}

/**
 * A message's fields without those at their default (zero, empty, false, the first enum value, an
 * empty list), as protobuf's canonical encoding leaves them out: protobufjs writes every field it is
 * given, so a default passed explicitly would otherwise reach the wire. Sub-messages keep their
 * presence, as in proto3.
 */
export function withoutDefaults(type: protobuf.Type, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined || v === null) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const strip = (e: unknown) => (sub ? withoutDefaults(sub, e as Record<string, unknown>) : e);
    if (field.repeated) {
      if ((v as unknown[]).length > 0) out[field.name] = (v as unknown[]).map(strip);
    } else if (sub) {
      out[field.name] = strip(v);
    } else if (!isDefault(field, v)) {
      out[field.name] = v;
    }
  }
  return out;
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return v === 0 || v === field.resolvedType.valuesById[0];
  return v === 0 || v === '' || v === false || (typeof v === 'bigint' && v === 0n) || (v instanceof Uint8Array && v.byteLength === 0);
}

/** Protobuf bytes of a message in canonical form (fields in number order, defaults left out); enum fields are given by name. */
export function encodeMessage<K extends MessageTypeName>(name: K, value: MessageTypes[K]): Uint8Array {
  const type = messageType(name);
  const message = type.fromObject(withoutDefaults(type, value as unknown as Record<string, unknown>));
  const problem = type.verify(message);
  if (problem) throw new ProtocolError('MALFORMED', `cannot encode ${name}: ${problem}`);
  return type.encode(message).finish();
}

/**
 * Decodes any valid protobuf encoding of `name`, as protobuf's own parsers do: fields in any order,
 * defaults written or left out, packed or unpacked repeated scalars, the last of a repeated scalar
 * winning, unknown fields skipped (a newer sender's additions). Refused: bytes that are not a
 * protobuf message (truncated, a field on the wrong wire type), invalid UTF-8 in a string and an
 * enum value this schema does not name. Strictness about byte form belongs to the signature, which
 * covers the exact bytes, not to a comparison with our own encoder's output.
 */
export function decodeMessage<K extends MessageTypeName>(name: K, bytes: Uint8Array): MessageTypes[K] {
  const type = messageType(name);
  let message: protobuf.Message;
  try {
    checkWireForm(type, bytes);
    message = type.decode(bytes);
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new ProtocolError('MALFORMED', `not a valid ${name}: ${(cause as Error).message}`, {}, { cause });
  }
  const problem = type.verify(message);
  if (problem) throw new ProtocolError('MALFORMED', `not a valid ${name}: ${problem}`);
  return toPlain(type, message) as unknown as MessageTypes[K];
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Protobuf wire types: varint, 64-bit, length-delimited, 32-bit. */
const WIRE_OF_SCALAR: Readonly<Record<string, number>> = { double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5, int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1, bool: 0, string: 2, bytes: 2 };

/**
 * Walks the wire form: each known field must come on its type's wire type (protobufjs decodes by
 * field number alone and would read a varint as a string), strings must be valid UTF-8, and
 * sub-messages are checked the same way. Unknown fields are skipped.
 */
function checkWireForm(type: protobuf.Type, bytes: Uint8Array): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const wire = tag & 7;
    const field = type.fieldsById[tag >>> 3];
    if (!field) {
      reader.skipType(wire);
      continue;
    }
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const expected = sub ? 2 : field.resolvedType instanceof protobuf.Enum ? 0 : WIRE_OF_SCALAR[field.type];
    // A repeated number may come packed (length-delimited) or one element per tag.
    const packedNumbers = field.repeated && !sub && expected !== 2 && wire === 2;
    if (wire !== expected && !packedNumbers) {
      throw new ProtocolError('MALFORMED', `not a valid ${type.name}: field ${field.name} on wire type ${wire}, expected ${expected}`);
    }
    if (wire !== 2 || packedNumbers) {
      reader.skipType(wire);
    } else if (sub) {
      checkWireForm(sub, reader.bytes());
    } else if (field.type === 'string') {
      try {
        STRICT_UTF8.decode(reader.bytes());
      } catch (cause) {
        throw new ProtocolError('MALFORMED', `not a valid ${type.name}: field ${field.name} is not UTF-8`, {}, { cause });
      }
    } else {
      reader.skipType(wire);
    }
  }
}

/** A message with every field at its default (zero, empty, first enum value), to spread overrides onto. */
export function defaultMessage<K extends MessageTypeName>(name: K): MessageTypes[K] {
  return decodeMessage(name, new Uint8Array(0));
}

/** A plain object with every field present: enums by name, absent sub-messages as their defaults. */
function toPlain(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const source = message as unknown as Record<string, unknown>;
  const plain: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const convert = (value: unknown): unknown => {
      const resolved = field.resolvedType;
      if (resolved instanceof protobuf.Type) {
        return toPlain(resolved, (value as protobuf.Message | null) ?? resolved.create());
      }
      if (resolved instanceof protobuf.Enum) return resolved.valuesById[value as number];
      // Bytes come back as Buffers (or, when absent, a plain array): hand out plain Uint8Array views.
      if (field.type === 'bytes') {
        return value instanceof Uint8Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : Uint8Array.from(value as number[]);
      }
      return value;
    };
    const value = source[field.name];
    plain[field.name] = field.repeated ? ((value as unknown[] | undefined) ?? []).map(convert) : convert(value);
  }
  return plain;
}
