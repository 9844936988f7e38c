import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import protobuf from 'protobufjs';
import {
  DEFAULT_CHUNK_BYTES,
  FLOAT16_MAX,
  MAX_CHUNK_FRAME_BYTES,
  ModelReassembler,
  PROTO_FILE,
  PROTO_PACKAGE,
  RECENT_FRAMES,
  ProtocolError,
  decodeChunkFrame,
  defaultMessage,
  deriveTransferId,
  encodeMessage,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  fromFloat16,
  manifestDigest,
  packModel,
  packModelAsync,
  toFloat16,
  type ArchitectureSpec,
  type ModelManifest,
  type NamedTensor,
  type ProtocolErrorCode,
} from '@lgefed/protocol';
import { channel, makeParty } from './fixtures.js';

const code = (expected: ProtocolErrorCode, details: Record<string, unknown> = {}) => (err: unknown): boolean => {
  assert.ok(err instanceof ProtocolError, String(err));
  assert.equal(err.code, expected, err.message);
  for (const [key, value] of Object.entries(details)) assert.deepEqual(err.details[key], value, key);
  return true;
};

const architecture: ArchitectureSpec = { ...defaultMessage('ArchitectureSpec'), name: 'unet2d', depth: 4 };

/** A small model with an odd-length tensor (float16 padding) and tensors spanning chunk borders. */
function model(): NamedTensor[] {
  const tensor = (name: string, shape: number[], f: (i: number) => number): NamedTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = f(i);
    return { name, shape, data };
  };
  return [
    tensor('enc/kernel', [3, 3, 1, 8], (i) => Math.sin(i) * 0.3),
    tensor('enc/bias', [7], (i) => i - 3.5),
    tensor('dec/kernel', [3, 3, 8, 4], (i) => Math.cos(i) * 1e-3),
    tensor('head/bias', [3], (i) => (i + 1) * 1e4),
  ];
}

const CHUNK = 64;

describe('protocol model transfer', () => {
  it('round-trips float32 weights exactly through a signed manifest and chunk frames', async () => {
    const { signer, verifier } = channel(await makeParty());
    const tensors = model();
    const pkg = packModel(tensors, { modelId: 'm1', architecture, chunkBytes: CHUNK });
    const opened = await verifier.open(await signer.seal('ModelManifest', pkg.manifest), 'ModelManifest');
    assert.deepEqual(createHash('sha256').update(opened.payload).digest(), Buffer.from(pkg.manifestSha256));
    const receiver = new ModelReassembler(opened.message);
    for (const frame of pkg.chunks()) {
      assert.ok(frame.byteLength <= CHUNK + 64);
      receiver.accept(frame);
    }
    const out = receiver.result();
    assert.deepEqual(out.map((t) => [t.name, t.shape]), tensors.map((t) => [t.name, t.shape]));
    out.forEach((t, i) => assert.deepEqual(t.data, tensors[i]!.data));
  });

  it('sends float16 at half the bytes within float16 rounding error', () => {
    const tensors = model();
    const f32 = packModel(tensors, { modelId: 'm', architecture, chunkBytes: CHUNK });
    const pkg = packModel(tensors, { modelId: 'm', architecture, chunkBytes: CHUNK, dtype: 'float16' });
    assert.ok(pkg.manifest.totalBytes <= f32.manifest.totalBytes / 2 + 4);
    const receiver = new ModelReassembler(pkg.manifest);
    for (const frame of pkg.chunks()) receiver.accept(frame);
    receiver.result().forEach((t, i) => {
      const source = tensors[i]!.data;
      t.data.forEach((v, j) => assert.ok(Math.abs(v - source[j]!) <= Math.abs(source[j]!) * 2 ** -11 + 2 ** -25, `${t.name}[${j}]`));
    });
  });

  it('packs asynchronously to the same manifest, letting other callbacks run in between', async () => {
    const big = [{ name: 'w', shape: [1_000_000], data: Float32Array.from({ length: 1_000_000 }, (_, i) => i % 7) }];
    let immediates = 0;
    const count = (): void => {
      immediates++;
      if (immediates < 1000) setImmediate(count);
    };
    setImmediate(count);
    const pkg = await packModelAsync(big, { modelId: 'm', architecture });
    assert.deepEqual(pkg.manifest, packModel(big, { modelId: 'm', architecture }).manifest);
    assert.ok(immediates >= pkg.chunkCount - 1, `${immediates} callbacks ran during ${pkg.chunkCount} chunks`);
  });

  it('frames are canonical TensorChunk messages no bigger than 1 MiB', () => {
    const big = [{ name: 'w', shape: [700_000], data: new Float32Array(700_000).fill(0.5) }];
    const pkg = packModel(big, { modelId: 'm', architecture });
    assert.equal(pkg.chunkCount, Math.ceil(2_800_000 / DEFAULT_CHUNK_BYTES));
    for (const frame of pkg.chunks()) {
      assert.ok(frame.byteLength <= MAX_CHUNK_FRAME_BYTES && frame.byteLength < 1e6);
      const decoded = decodeChunkFrame(frame);
      assert.deepEqual(Buffer.from(encodeMessage('TensorChunk', decoded)), Buffer.from(frame));
    }
  });

  it('builds a frame once for every site a round sends it to, and again only once it is no longer recent', () => {
    const big = [{ name: 'w', shape: [64 * (RECENT_FRAMES + 4)], data: Float32Array.from({ length: 64 * (RECENT_FRAMES + 4) }, (_, i) => i / 7) }];
    const pkg = packModel(big, { modelId: 'm', architecture, chunkBytes: 256 });
    const first = pkg.chunk(1);
    assert.equal(pkg.chunk(1), first, 'a second site gets the same frame');
    const reuse = new Uint8Array(first.byteLength);
    assert.notEqual(pkg.chunk(1, reuse), first, 'a frame built into a caller buffer is never shared');
    for (let i = 2; i < 2 + RECENT_FRAMES; i++) pkg.chunk(i);
    const rebuilt = pkg.chunk(1);
    assert.notEqual(rebuilt, first, 'no longer recent: built again');
    assert.deepEqual(Buffer.from(rebuilt), Buffer.from(first));
  });

  describe('a chunk stream with faults', () => {
    const pkg = packModel(model(), { modelId: 'm', architecture, chunkBytes: CHUNK });
    const frames = [...pkg.chunks()];
    const expected = model();
    const finish = (receiver: ModelReassembler): void => receiver.result().forEach((t, i) => assert.deepEqual(t.data, expected[i]!.data));

    it('has several chunks to lose', () => assert.ok(frames.length >= 6));

    it('reports a missing chunk for re-request and completes once it arrives', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      frames.forEach((frame, i) => i !== 2 && receiver.accept(frame));
      assert.equal(receiver.complete, false);
      assert.deepEqual(receiver.missing, [2]);
      assert.deepEqual(receiver.chunkRequest(), { transferId: pkg.manifest.transferId, indices: [2] });
      assert.throws(() => receiver.result(), code('CHUNK_MISMATCH', { missing: [2] }));
      receiver.accept(pkg.chunk(2));
      finish(receiver);
    });

    it('rejects a duplicated chunk without disturbing the transfer', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      receiver.accept(frames[0]!);
      receiver.accept(frames[1]!);
      assert.throws(() => receiver.accept(frames[1]!), code('CHUNK_MISMATCH', { index: 1, reason: 'duplicate' }));
      frames.slice(2).forEach((f) => receiver.accept(f));
      finish(receiver);
    });

    it('rejects a corrupted chunk (any data byte) and accepts the re-sent one', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      const good = frames[3]!;
      const dataStart = good.byteLength - pkg.manifest.chunks[3]!.byteLength;
      for (const at of [dataStart, dataStart + 17, good.byteLength - 1]) {
        const corrupt = Uint8Array.from(good);
        corrupt[at]! ^= 0x01;
        assert.throws(() => receiver.accept(corrupt), code('CHUNK_MISMATCH', { index: 3, reason: 'corrupt' }), `byte ${at}`);
      }
      assert.ok(receiver.missing.includes(3));
      frames.forEach((f) => receiver.accept(f));
      finish(receiver);
    });

    it('detects reordered chunks and still places each where it belongs', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      const order = [0, 2, 1, ...frames.keys()].filter((v, i, all) => all.indexOf(v) === i);
      const receipts = order.map((i) => receiver.accept(frames[i]!));
      assert.deepEqual(receipts.slice(0, 3).map((r) => r.inOrder), [true, false, true]);
      assert.equal(receipts.at(-1)!.remaining, 0);
      finish(receiver);
    });

    it('rejects a chunk whose header claims another place', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      const moved = encodeMessage('TensorChunk', { ...decodeChunkFrame(frames[1]!), index: 2 });
      assert.throws(() => receiver.accept(moved), code('CHUNK_MISMATCH'));
      const shifted = encodeMessage('TensorChunk', { ...decodeChunkFrame(frames[1]!), byteOffset: 0 });
      assert.throws(() => receiver.accept(shifted), code('CHUNK_MISMATCH'));
    });

    it('rejects a chunk of another transfer, an oversized frame and a malformed one', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      const other = packModel(model().reverse(), { modelId: 'm', architecture, chunkBytes: CHUNK });
      assert.throws(() => receiver.accept(other.chunk(0)), code('CHUNK_MISMATCH', { reason: 'foreign' }));
      assert.throws(() => receiver.accept(new Uint8Array(CHUNK + 1000)), code('TOO_LARGE'));
      assert.throws(() => receiver.accept(frames[0]!.subarray(0, frames[0]!.byteLength - 3)), code('MALFORMED'));
      assert.throws(() => receiver.accept(Uint8Array.from([...frames[0]!, 0x28])), code('MALFORMED'));
      assert.equal(receiver.missing.length, frames.length);
    });
  });

  describe("other encoders' frames (issue 13, interoperability 15)", () => {
    const pkg = packModel(model(), { modelId: 'm', architecture, chunkBytes: CHUNK });
    const frames = [...pkg.chunks()];
    const octal = (bytes: Uint8Array) => [...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    /** The frame as protoc's (C++) encoder writes it from text format: a standard encoder, defaults left out. */
    const protocFrame = (i: number): Uint8Array => {
      const { transferId, index, byteOffset, data } = decodeChunkFrame(frames[i]!);
      const text = `transfer_id: "${transferId}" index: ${index} byte_offset: ${byteOffset} data: "${octal(data)}"`;
      return execFileSync('protoc', [`--proto_path=${dirname(PROTO_FILE)}`, `--encode=${PROTO_PACKAGE}.TensorChunk`, basename(PROTO_FILE)], { input: text });
    };
    /** A TensorChunk written field by field, in the order and with the fields given. */
    const handWritten = (fields: ('transferId' | 'index' | 'byteOffset' | 'data' | 'unknown')[], i: number): Uint8Array => {
      const { transferId, index, byteOffset, data } = decodeChunkFrame(frames[i]!);
      const w = protobuf.Writer.create();
      for (const f of fields) {
        if (f === 'transferId') w.uint32((1 << 3) | 2).string(transferId);
        if (f === 'index') w.uint32(2 << 3).uint32(index);
        if (f === 'byteOffset') w.uint32(3 << 3).uint32(byteOffset);
        if (f === 'data') w.uint32((4 << 3) | 2).bytes(data);
        if (f === 'unknown') w.uint32(9 << 3).uint32(7);
      }
      return w.finish();
    };

    it("emits frames byte for byte as protoc's encoder does (chunk 0 without its zero index and offset) and accepts protoc's", () => {
      const receiver = new ModelReassembler(pkg.manifest);
      for (let i = 0; i < frames.length; i++) {
        const theirs = protocFrame(i);
        assert.deepEqual(Buffer.from(frames[i]!), Buffer.from(theirs), `chunk ${i}`);
        receiver.accept(theirs);
      }
      receiver.result().forEach((t, i) => assert.deepEqual(t.data, model()[i]!.data));
      assert.ok(frames[0]!.byteLength < handWritten(['transferId', 'index', 'byteOffset', 'data'], 0).byteLength, 'chunk 0 leaves its defaults out');
    });

    it('accepts any valid encoding of a frame: explicit defaults, another field order, an unknown field', () => {
      const receiver = new ModelReassembler(pkg.manifest);
      const forms = [['transferId', 'index', 'byteOffset', 'data'], ['data', 'byteOffset', 'index', 'transferId'], ['unknown', 'transferId', 'data', 'index', 'byteOffset']] as const;
      for (let i = 0; i < frames.length; i++) receiver.accept(handWritten([...forms[i % forms.length]!], i));
      receiver.result().forEach((t, i) => assert.deepEqual(t.data, model()[i]!.data));
      // What decides is the manifest: a frame in any encoding that claims another place is still refused.
      const elsewhere = new ModelReassembler(pkg.manifest);
      const w = protobuf.Writer.create();
      const { transferId, data } = decodeChunkFrame(frames[1]!);
      w.uint32((4 << 3) | 2).bytes(data).uint32((1 << 3) | 2).string(transferId).uint32(2 << 3).uint32(1);
      assert.throws(() => elsewhere.accept(w.finish()), code('CHUNK_MISMATCH', { reason: 'placement' }));
    });
  });

  describe('manifest checks', () => {
    const pkg = packModel(model(), { modelId: 'm', architecture, chunkBytes: CHUNK });
    const bad = (patch: Partial<ModelManifest>): ModelManifest => ({ ...pkg.manifest, ...patch });

    it('refuses manifests whose layout, digests or id do not add up, before allocating', () => {
      const chunks = pkg.manifest.chunks;
      assert.throws(() => new ModelReassembler(bad({ transferId: '0'.repeat(32) })), code('MALFORMED'));
      assert.throws(() => new ModelReassembler(bad({ chunks: chunks.slice(1) })), code('MALFORMED'));
      assert.throws(() => new ModelReassembler(bad({ chunkBytes: 63 })), code('MALFORMED'));
      assert.throws(() => new ModelReassembler(bad({ parameterCount: 1 })), code('MALFORMED'));
      const tensors = pkg.manifest.tensors.map((t, i) => (i === 1 ? { ...t, shape: [8] } : t));
      assert.throws(() => new ModelReassembler(bad({ tensors })), code('MALFORMED'));
      const digests = chunks.map((c, i) => (i === 0 ? { ...c, sha256: c.sha256.subarray(0, 16) } : c));
      assert.throws(() => new ModelReassembler(bad({ chunks: digests })), code('MALFORMED'));
    });

    it('refuses a model over the size limit before allocating it', () => {
      assert.throws(() => new ModelReassembler(pkg.manifest, { maxModelBytes: 100 }), code('TOO_LARGE'));
      assert.throws(() => new ModelReassembler(bad({ totalBytes: 2 ** 32 - 4 })), code('TOO_LARGE'));
    });

    it('digests the manifest exactly as its signed payload', () => {
      assert.deepEqual(manifestDigest(pkg.manifest), createHash('sha256').update(encodeMessage('ModelManifest', pkg.manifest)).digest());
    });
  });

  describe('non-finite weights', () => {
    it('refuses to pack NaN or infinity, naming the tensor', () => {
      for (const [value, element] of [[NaN, 5], [Infinity, 100], [-Infinity, 287]] as const) {
        const tensors = model();
        tensors[2]!.data[element] = value;
        for (const dtype of ['float32', 'float16'] as const) {
          for (const chunkBytes of [CHUNK, DEFAULT_CHUNK_BYTES]) {
            assert.throws(() => packModel(tensors, { modelId: 'm', architecture, dtype, chunkBytes }), code('NON_FINITE', { tensor: 'dec/kernel', element }));
          }
        }
      }
    });

    it('refuses float32 values beyond the float16 range when sending float16', () => {
      const tensors = model();
      tensors[0]!.data[0] = 70_000;
      assert.throws(() => packModel(tensors, { modelId: 'm', architecture, dtype: 'float16' }), code('NON_FINITE'));
    });

    it('refuses NaN in a received chunk even when its digest matches', () => {
      for (const dtype of ['float32', 'float16'] as const) {
        const pkg = packModel(model(), { modelId: 'm', architecture, chunkBytes: CHUNK, dtype });
        const frame = Uint8Array.from(pkg.chunk(0));
        const dataStart = frame.byteLength - pkg.manifest.chunks[0]!.byteLength;
        // A NaN planted by the sender itself: the manifest is re-derived so every digest matches.
        if (dtype === 'float32') frame.set([0x00, 0x00, 0xc0, 0x7f], dataStart + 4);
        else frame.set([0x00, 0x7e], dataStart + 2);
        const chunks = pkg.manifest.chunks.map((c, i) =>
          i === 0 ? { ...c, sha256: createHash('sha256').update(frame.subarray(dataStart)).digest() } : c,
        );
        const transferId = deriveTransferId(chunks.map((c) => c.sha256));
        const manifest = { ...pkg.manifest, chunks, transferId };
        const planted = encodeMessage('TensorChunk', { ...decodeChunkFrame(frame), transferId });
        const receiver = new ModelReassembler(manifest);
        assert.throws(() => receiver.accept(planted), code('NON_FINITE'), dtype);
        assert.deepEqual(receiver.missing[0], 0);
      }
    });
  });

  describe('float16 conversion', () => {
    it('matches numpy float16 rounding bit for bit on edge cases and random values', () => {
      const values = new Float32Array([
        0, -0, 1, -1, 0.1, 1 / 3, 65504, -65504, 65519.99, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, 3 * 2 ** -25,
        1 + 2 ** -11, 1 + 3 * 2 ** -11, 2048 + 1, 2048 + 3, 6e-8, 1e-7, 5.9604645e-8, 6.1e-5, 1e-10,
        ...Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 12) - 8)),
      ]);
      const numpy = execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; sys.stdout.buffer.write(np.frombuffer(sys.stdin.buffer.read(), "<f4").astype("<f2").tobytes())'], {
        input: Buffer.from(values.buffer),
      });
      const expected = new Uint16Array(numpy.buffer, numpy.byteOffset, values.length);
      const ours = toFloat16(values);
      values.forEach((v, i) => assert.equal(ours[i], expected[i], `${v}: ours 0x${ours[i]!.toString(16)}, numpy 0x${expected[i]!.toString(16)}`));
    });

    it('stays within half an ulp: relative 2^-11 for normals, absolute 2^-25 for subnormals', () => {
      const values = Float32Array.from({ length: 20_000 }, (_, i) => (i % 2 ? -1 : 1) * 2 ** (((i * 7919) % 4500) / 100 - 29) * (1 + ((i * 104729) % 1000) / 1000));
      const back = fromFloat16(toFloat16(values.map((v) => (Math.abs(v) > FLOAT16_MAX ? 1 : v))));
      values.forEach((v, i) => {
        if (Math.abs(v) > FLOAT16_MAX) return;
        const bound = Math.abs(v) >= 2 ** -14 ? Math.abs(v) * 2 ** -11 : 2 ** -25;
        assert.ok(Math.abs(back[i]! - v) <= bound, `${v} -> ${back[i]}`);
      });
    });

    it('round-trips every finite half exactly and refuses NaN and infinity both ways', () => {
      for (let bits = 0; bits < 65536; bits++) {
        if ((bits & 0x7c00) === 0x7c00) {
          assert.throws(() => fromFloat16(Uint16Array.of(bits)), code('NON_FINITE'));
          continue;
        }
        const value = float16BitsToFloat32(bits);
        assert.equal(float32ToFloat16Bits(value), bits === 0x8000 ? 0x8000 : bits);
      }
      for (const v of [NaN, Infinity, -Infinity, 65520, -1e6]) assert.throws(() => float32ToFloat16Bits(v), code('NON_FINITE'), String(v));
    });
  });
});
