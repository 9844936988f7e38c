import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import descriptorJson from 'protobufjs/google/protobuf/descriptor.json' with { type: 'json' };
import { MESSAGE_TYPE_NAMES, PROTO_FILE, PROTO_PACKAGE, ProtocolError, decodeMessage, defaultMessage, encodeMessage } from '@lgefed/protocol';
import { renderTypeScript } from '@lgefed/protocol/codegen';
import { messageType, schemaRoot } from '@lgefed/protocol/schema';
import { sampleMessage } from './fixtures.js';

/** The top-level scalar fields of a message type set to their defaults, given explicitly. */
function zeroScalars(name: (typeof MESSAGE_TYPE_NAMES)[number]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of messageType(name).fieldsArray) {
    if (field.repeated || field.resolvedType instanceof protobuf.Type) continue;
    out[field.name] = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.valuesById[0] : field.type === 'string' ? '' : field.type === 'bool' ? false : field.type === 'bytes' ? new Uint8Array(0) : 0;
  }
  return out;
}

const isMalformed = (err: unknown): boolean => err instanceof ProtocolError && err.code === 'MALFORMED';

describe('protocol schema', () => {
  it('compiles with protoc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgefed-protoc-'));
    try {
      const out = join(dir, 'lgefed.desc');
      execFileSync('protoc', [`--proto_path=${dirname(PROTO_FILE)}`, `--descriptor_set_out=${out}`, basename(PROTO_FILE)]);
      const descriptors = protobuf.Root.fromJSON(descriptorJson).lookupType('google.protobuf.FileDescriptorSet').decode(readFileSync(out));
      const file = (descriptors.toJSON() as { file: { package: string; messageType: { name: string }[] }[] }).file[0]!;
      assert.equal(file.package, PROTO_PACKAGE);
      assert.deepEqual(file.messageType.map((m) => m.name), [...MESSAGE_TYPE_NAMES]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has TypeScript declarations generated from the current .proto', () => {
    const committed = readFileSync(new URL('../../../protocol/src/messages.generated.ts', import.meta.url), 'utf8');
    const namespace = schemaRoot().lookup(PROTO_PACKAGE) as protobuf.Namespace;
    assert.equal(committed, renderTypeScript(namespace, basename(PROTO_FILE)), 'run `npm run gen -w @lgefed/protocol`');
  });

  it('covers the whole federation', () => {
    for (const name of ['SiteHello', 'Enrolment', 'TaskAssignment', 'ModelManifest', 'TensorChunk', 'ChunkRequest', 'TrainResult',
      'EvaluationResult', 'HarmonisationReport', 'Progress', 'Heartbeat', 'ErrorReport', 'Ack'] as const) {
      assert.ok(MESSAGE_TYPE_NAMES.includes(name), name);
    }
  });

  it('carries no image voxels: bulk bytes only in TensorChunk.data, other bytes fields are SHA-256 digests', () => {
    for (const name of MESSAGE_TYPE_NAMES) {
      for (const field of messageType(name).fieldsArray) {
        assert.doesNotMatch(field.name, /image|voxel|pixel|label(?!led)/i, `${name}.${field.name}`);
        if (field.type === 'bytes') {
          assert.ok((name === 'TensorChunk' && field.name === 'data') || /sha256$/i.test(field.name), `${name}.${field.name} is bytes`);
        }
      }
    }
  });

  it('round-trips every message type with every field set', () => {
    for (const name of MESSAGE_TYPE_NAMES) {
      const message = sampleMessage(name);
      assert.deepEqual(decodeMessage(name, encodeMessage(name, message)), message, name);
    }
  });

  it("encodes every message type canonically, as protoc's encoder does: defaults left out (issue 13, interoperability 15)", () => {
    const protoc = (...args: string[]) => (input: Uint8Array | string) => execFileSync('protoc', [`--proto_path=${dirname(PROTO_FILE)}`, ...args, basename(PROTO_FILE)], { input });
    for (const name of MESSAGE_TYPE_NAMES) {
      for (const message of [sampleMessage(name), defaultMessage(name), { ...sampleMessage(name, 2), ...zeroScalars(name) }]) {
        const ours = encodeMessage(name, message as never);
        // protoc reads our bytes as text format and writes them back in its own (canonical) form.
        const text = protoc(`--decode=${PROTO_PACKAGE}.${name}`)(ours);
        assert.deepEqual(Buffer.from(ours), protoc(`--encode=${PROTO_PACKAGE}.${name}`)(text), name);
      }
    }
    assert.equal(encodeMessage('TensorChunk', { transferId: '', index: 0, byteOffset: 0, data: new Uint8Array(0) }).byteLength, 0);
  });

  it('decodes absent fields as defaults, sub-messages included', () => {
    const empty = defaultMessage('TaskAssignment');
    assert.equal(empty.kind, 'TASK_KIND_UNSPECIFIED');
    assert.equal(empty.model.architecture.depth, 0);
    assert.ok(empty.model.sha256 instanceof Uint8Array && empty.model.sha256.length === 0);
    assert.deepEqual(empty.hyperParameters.trainableBlocks, []);
  });

  describe('malformed bytes', () => {
    const bytes = encodeMessage('Heartbeat', sampleMessage('Heartbeat'));

    // A cut between fields leaves a shorter valid message (protobuf has no outer length): the
    // envelope signature catches those; decoding must catch cuts inside a field.
    it('refuses bytes truncated inside a field', () => {
      const lastField = 5; // gpuUtilisation: tag + 4-byte float, encoded last
      for (let cut = bytes.length - lastField + 1; cut < bytes.length; cut++) {
        assert.throws(() => decodeMessage('Heartbeat', bytes.subarray(0, cut)), isMalformed, `cut at ${cut}`);
      }
      const stringStart = 2; // siteId's first character, after its tag and length
      assert.throws(() => decodeMessage('Heartbeat', bytes.subarray(0, stringStart + 1)), isMalformed);
    });

    it('refuses a field on the wrong wire type, an unknown enum value and invalid UTF-8', () => {
      // Ack.message_id (field 1) is a string: a varint there is not an Ack.
      assert.throws(() => decodeMessage('Ack', Uint8Array.from([(1 << 3) | 0, 5])), isMalformed);
      // Heartbeat.privacy (field 5) is a message: a 32-bit value there is not a Heartbeat.
      assert.throws(() => decodeMessage('Heartbeat', Uint8Array.from([(5 << 3) | 5, 0, 0, 0, 0])), isMalformed);
      assert.throws(() => decodeMessage('TaskAssignment', Uint8Array.from([(4 << 3) | 0, 99])), isMalformed);
      assert.throws(() => decodeMessage('Ack', Uint8Array.from([(1 << 3) | 2, 2, 0xc3, 0x28])), isMalformed);
      // Inside a sub-message too: SiteHello.capabilities.gpus[0].name.
      const gpu = [(1 << 3) | 2, 1, 0xff];
      const capabilities = [(2 << 3) | 2, gpu.length, ...gpu];
      assert.throws(() => decodeMessage('SiteHello', Uint8Array.from([(4 << 3) | 2, capabilities.length, ...capabilities])), isMalformed);
    });
  });

  // Issue 13, interoperability 15: the signature pins the bytes; any valid protobuf form of a
  // message is read as protobuf's own parsers read it.
  describe('any valid encoding', () => {
    const bytes = encodeMessage('Heartbeat', sampleMessage('Heartbeat'));
    const decoded = decodeMessage('Heartbeat', bytes);

    it('skips unknown fields, as a newer sender may add them', () => {
      assert.deepEqual(decodeMessage('Heartbeat', Uint8Array.from([...bytes, (15 << 3) | 0, 1])), decoded);
    });

    it('reads a repeated scalar as its last value and a non-minimal varint as its value', () => {
      assert.equal(decodeMessage('Heartbeat', Uint8Array.from([...bytes, (3 << 3) | 0, 7])).freeMemoryMib, 7);
      assert.equal(decodeMessage('Heartbeat', Uint8Array.from([(3 << 3) | 0, 0x87, 0x00])).freeMemoryMib, 7);
    });

    it('reads fields in any order, defaults written out, and repeated numbers packed or not', () => {
      const shape = [3, 300];
      // TensorSpec: dtype (3) before name (1), byte_offset 0 written out, shape (2) unpacked.
      const unusual = Uint8Array.from([
        (3 << 3) | 0, 1,
        (1 << 3) | 2, 1, 0x77,
        (4 << 3) | 0, 0,
        ...shape.flatMap((dim) => [(2 << 3) | 0, ...varint(dim)]),
      ]);
      assert.deepEqual(decodeMessage('TensorSpec', unusual), { name: 'w', shape, dtype: 'DTYPE_FLOAT32', byteOffset: 0, byteLength: 0 });
      assert.deepEqual(decodeMessage('TensorSpec', encodeMessage('TensorSpec', { name: 'w', shape, dtype: 'DTYPE_FLOAT32', byteOffset: 0, byteLength: 0 })), decodeMessage('TensorSpec', unusual));
    });
  });
});

function varint(value: number): number[] {
  const out: number[] = [];
  for (; value >= 0x80; value >>>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}
