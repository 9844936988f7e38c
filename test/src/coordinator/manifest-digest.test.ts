import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { PROTO_FILE, PROTO_PACKAGE, type ModelManifest } from '@lgefed/protocol';
import { ARCH } from './federation-harness.js';
import { constantWeights, coordinatorWithHandSites } from './hand-site.js';

/**
 * The manifest with every field written, defaults included: another valid byte form of the same
 * message (what our encoder wrote before it left defaults out, and what an encoder that tracks field
 * presence may write), signed as it stands.
 */
function encodeWithExplicitDefaults(manifest: ModelManifest): Uint8Array {
  const type = new protobuf.Root().loadSync(PROTO_FILE).lookupType(`${PROTO_PACKAGE}.ModelManifest`);
  return type.encode(type.fromObject(manifest as unknown as Record<string, unknown>)).finish();
}

describe('coordinator: the manifest digest is the hash of the signed payload bytes (issue 13, interoperability 16)', function () {
  this.timeout(60_000);
  const fixture = coordinatorWithHandSites('digest', { leeds: 4 });

  it("accepts a TrainResult quoting the digest of a manifest another encoder wrote, and refuses one quoting any other digest", async () => {
    const { coordinator } = fixture;
    const site = fixture.sites['leeds']!;
    const job = await coordinator.engine.submit('train', { site: 'leeds', architecture: ARCH, config: { epochs: 1, seed: 1 } }, 'admin');
    const task = await site.nextTask();
    const weights = constantWeights(task, 0.5);
    const payload = encodeWithExplicitDefaults(weights.manifest);
    // The same message in another byte form: modelId "" is written out, our encoder leaves it out.
    const theirs = createHash('sha256').update(payload).digest();
    assert.ok(!theirs.equals(Buffer.from(weights.manifestSha256)), 'the two byte forms must differ for this test to mean anything');
    await site.upload(weights, await site.sealBytes('ModelManifest', payload));
    const quotingOurs = await site.trainResult(task, weights, 4, weights.manifestSha256);
    assert.equal(quotingOurs.header.msg, 'ErrorReport', 'a digest of bytes that were never signed is refused');
    assert.match((quotingOurs.message as { message: string }).message, /quotes another manifest/);
    const reply = await site.trainResult(task, weights, 4, theirs);
    assert.equal(reply.header.msg, 'Ack', JSON.stringify(reply.message));
    const done = coordinator.state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
  });
});
