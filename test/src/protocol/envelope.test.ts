import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import * as jose from 'jose';
import { ENVELOPE_TYPE, MESSAGE_TYPE_NAMES, ProtocolError, ReplayCache, Signer, Verifier, encodeMessage, type ProtocolErrorCode } from '@lgefed/protocol';
import { channel, makeParty, sampleMessage, type Party } from './fixtures.js';

const rejectsWith = (code: ProtocolErrorCode | readonly ProtocolErrorCode[]) => (err: unknown): boolean => {
  assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
  const codes: readonly ProtocolErrorCode[] = typeof code === 'string' ? [code] : code;
  assert.ok(codes.includes(err.code), `expected ${codes.join('|')}, got ${err.code}: ${err.message}`);
  return true;
};

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('protocol signed envelope', () => {
  let alice: Party;
  let mallory: Party;
  before(async () => {
    alice = await makeParty();
    mallory = await makeParty();
  });

  /** A header as the Signer writes it, for hand-made envelopes. */
  const header = (party: Party, overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const iat = Math.floor(Date.now() / 1000);
    return { alg: 'EdDSA', typ: ENVELOPE_TYPE, kid: party.signing.kid, msg: 'Ack', jti: crypto.randomUUID(), iat, exp: iat + 60, seq: 1, ...overrides };
  };
  const signRaw = (party: Party, payload: Uint8Array, h: Record<string, unknown>): Promise<string> =>
    new jose.CompactSign(payload).setProtectedHeader(h as jose.CompactJWSHeaderParameters).sign(party.signing.privateKey);

  it('round-trips every message type with its sender, type and header', async () => {
    const { signer, verifier } = channel(alice);
    for (const name of MESSAGE_TYPE_NAMES) {
      const message = sampleMessage(name);
      const opened = await verifier.open(await signer.seal(name, message), name);
      assert.deepEqual(opened.message, message);
      assert.equal(opened.sender, 'site-a');
      assert.equal(opened.header.msg, name);
      assert.equal(opened.header.kid, alice.signing.kid);
    }
  });

  it('dispatches on the message type with openAny', async () => {
    const { signer, verifier } = channel(alice);
    const opened = await verifier.openAny(await signer.seal('Progress', sampleMessage('Progress')));
    assert.equal(opened.type, 'Progress');
    assert.equal(opened.type === 'Progress' && opened.message.stage, sampleMessage('Progress').stage);
  });

  it('is a standard JWS: jose and plain Node crypto verify it with the public key alone', async () => {
    const { signer } = channel(alice);
    const envelope = await signer.seal('Ack', { messageId: 'm-1' });
    const viaJose = await jose.compactVerify(envelope, await jose.importJWK({ ...alice.pair.publicJwk }, 'EdDSA'));
    assert.deepEqual(Buffer.from(viaJose.payload), Buffer.from(encodeMessage('Ack', { messageId: 'm-1' })));
    const [h, p, s] = envelope.split('.') as [string, string, string];
    const key = createPublicKey({ key: { ...alice.pair.publicJwk }, format: 'jwk' });
    assert.ok(nodeVerify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')));
    const protectedHeader = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'exp', 'iat', 'jti', 'kid', 'msg', 'seq', 'typ']);
    assert.equal(protectedHeader.alg, 'EdDSA');
  });

  it('numbers messages with an increasing per-sender sequence and unique ids', async () => {
    const { signer, verifier } = channel(alice);
    const a = await verifier.open(await signer.seal('Ack', { messageId: '1' }), 'Ack');
    const b = await verifier.open(await signer.seal('Ack', { messageId: '2' }), 'Ack');
    assert.equal(b.header.seq, a.header.seq + 1);
    assert.notEqual(a.header.jti, b.header.jti);
  });

  it('rejects a change to any character of the header, payload or signature', async () => {
    const { signer, verifier } = channel(alice);
    const envelope = await signer.seal('Progress', sampleMessage('Progress'));
    const parts = envelope.split('.');
    let tried = 0;
    for (const [part, text] of parts.entries()) {
      for (let i = 0; i < text.length; i++) {
        // Two substitutions per position: a neighbouring character (low bits) and a distant one (high bits).
        for (const shift of [1, 32]) {
          const replaced = ALPHABET[(ALPHABET.indexOf(text[i]!) + shift) % 64]!;
          const tampered = [...parts];
          tampered[part] = text.slice(0, i) + replaced + text.slice(i + 1);
          await assert.rejects(verifier.open(tampered.join('.'), 'Progress'), rejectsWith(['BAD_SIGNATURE', 'MALFORMED', 'UNKNOWN_SENDER', 'BAD_ALGORITHM']), `part ${part} char ${i}`);
          tried++;
        }
      }
    }
    assert.ok(tried > 300);
    // The original is still good: every rejection happened before the replay cache recorded anything.
    await verifier.open(envelope, 'Progress');
  });

  it('checks a signature alone without recording the message, so it can still be opened once', async () => {
    const { signer, verifier } = channel(alice);
    const envelope = await signer.seal('Progress', sampleMessage('Progress'));
    const [h, p, sig] = envelope.split('.') as [string, string, string];
    const tampered = `${h}.${p.slice(0, -2)}${p.endsWith('A') ? 'B' : 'A'}${p.slice(-1)}.${sig}`;
    await assert.rejects(verifier.checkSignature(tampered), rejectsWith(['BAD_SIGNATURE', 'MALFORMED']));
    await verifier.checkSignature(envelope);
    await verifier.checkSignature(envelope);
    await verifier.open(envelope, 'Progress');
    await assert.rejects(verifier.open(envelope, 'Progress'), rejectsWith('REPLAY'));
  });

  it('rejects a signature by another key claiming a pinned key id', async () => {
    const { verifier } = channel(alice);
    const forged = await signRaw(mallory, encodeMessage('Ack', { messageId: 'x' }), header(alice));
    await assert.rejects(verifier.open(forged, 'Ack'), rejectsWith('BAD_SIGNATURE'));
  });

  it('rejects an unknown sender, and one unpinned', async () => {
    const { verifier } = channel(alice);
    const { signer: intruder } = channel(mallory);
    await assert.rejects(verifier.open(await intruder.seal('Ack', { messageId: 'x' }), 'Ack'), rejectsWith('UNKNOWN_SENDER'));
    const { signer } = channel(alice);
    const envelope = await signer.seal('Ack', { messageId: 'y' });
    verifier.unpin('site-a');
    await assert.rejects(verifier.open(envelope, 'Ack'), rejectsWith('UNKNOWN_SENDER'));
  });

  it('rejects expired envelopes, ones from the future, and over-long lifetimes', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const { signer, verifier } = channel(alice, { now: () => now, verifier: { maxClockSkewS: 30 } });
    const envelope = await signer.seal('Ack', { messageId: 'late' });
    now += (300 + 31) * 1000;
    await assert.rejects(verifier.open(envelope, 'Ack'), rejectsWith('EXPIRED'));
    now -= (300 + 31) * 1000 + 31_000;
    await assert.rejects(verifier.open(envelope, 'Ack'), rejectsWith('EXPIRED'));
    now += 31_000;
    await verifier.open(envelope, 'Ack');
    const longLived = new Signer(alice.signing, { clock: () => now, lifetimeS: 3600 });
    await assert.rejects(verifier.open(await longLived.seal('Ack', { messageId: 'long' }), 'Ack'), rejectsWith('EXPIRED'));
  });

  it('rejects a replayed envelope, and one too far behind the sequence window', async () => {
    const { signer, verifier } = channel(alice);
    const envelope = await signer.seal('Ack', { messageId: 'once' });
    await verifier.open(envelope, 'Ack');
    await assert.rejects(verifier.open(envelope, 'Ack'), rejectsWith('REPLAY'));

    const cache = new ReplayCache({ sequenceWindow: 2 });
    const strict = new Verifier({ senders: [{ id: 'site-a', key: alice.verification }], replayCache: cache });
    const sealed = [];
    for (let i = 0; i < 4; i++) sealed.push(await signer.seal('Ack', { messageId: String(i) }));
    await strict.open(sealed[3], 'Ack');
    await strict.open(sealed[2], 'Ack'); // slightly late: inside the window
    await assert.rejects(strict.open(sealed[1], 'Ack'), rejectsWith('REPLAY'));
  });

  it('names its recipient (aud): a verifier with an audience refuses another recipient’s message, or one naming none', async () => {
    const { signer, verifier } = channel(alice, { verifier: { audience: 'site-b' } });
    const forA = await signer.seal('Ack', { messageId: 'task for a' }, 'site-a');
    await assert.rejects(verifier.open(forA, 'Ack'), rejectsWith('WRONG_AUDIENCE'));
    await assert.rejects(verifier.open(await signer.seal('Ack', { messageId: 'unnamed' }), 'Ack'), rejectsWith('WRONG_AUDIENCE'));
    const forB = await verifier.open(await signer.seal('Ack', { messageId: 'task for b' }, 'site-b'), 'Ack');
    assert.equal(forB.header.aud, 'site-b');
    // aud is signed: rewriting it breaks the signature.
    const [h, p, sig] = forA.split('.') as [string, string, string];
    const rewritten = b64({ ...(JSON.parse(Buffer.from(h, 'base64url').toString()) as object), aud: 'site-b' });
    await assert.rejects(verifier.open(`${rewritten}.${p}.${sig}`, 'Ack'), rejectsWith('BAD_SIGNATURE'));
    for (const aud of ['', 7, 'x'.repeat(65)]) {
      await assert.rejects(verifier.open(await signRaw(alice, encodeMessage('Ack', { messageId: 'm' }), header(alice, { aud })), 'Ack'), rejectsWith('MALFORMED'));
    }
  });

  it('rejects the wrong message type without consuming the envelope', async () => {
    const { signer, verifier } = channel(alice);
    const envelope = await signer.seal('Heartbeat', sampleMessage('Heartbeat'));
    await assert.rejects(verifier.open(envelope, 'TaskAssignment'), rejectsWith('WRONG_TYPE'));
    await verifier.open(envelope, 'Heartbeat');
  });

  it('rejects oversized envelopes before decoding them', async () => {
    const { signer, verifier } = channel(alice, { verifier: { maxPayloadBytes: 1024 } });
    const big = await signer.seal('Progress', { ...sampleMessage('Progress'), message: 'x'.repeat(2000) });
    await assert.rejects(verifier.open(big, 'Progress'), rejectsWith('TOO_LARGE'));
    // Not even valid base64 or a real header: size is still what fails, so nothing was decoded.
    await assert.rejects(verifier.open(`${'!'.repeat(2000)}.e30.AA`, 'Ack'), rejectsWith('TOO_LARGE'));
    await assert.rejects(verifier.open(`e30.${'!'.repeat(2000)}.AA`, 'Ack'), rejectsWith('TOO_LARGE'));
    await assert.rejects(verifier.open('x'.repeat(10_000_000), 'Ack'), rejectsWith('TOO_LARGE'));
  });

  it('rejects truncated and structurally malformed envelopes', async () => {
    const { signer, verifier } = channel(alice);
    const envelope = await signer.seal('Ack', { messageId: 'whole' });
    for (const cut of [1, 10, envelope.indexOf('.') + 1, envelope.lastIndexOf('.'), envelope.length - 1]) {
      await assert.rejects(verifier.open(envelope.slice(0, cut), 'Ack'), rejectsWith(['MALFORMED', 'BAD_SIGNATURE']), `cut at ${cut}`);
    }
    for (const bad of [42, null, '', 'a.b', 'a.b.c.d', `${b64('not json')}.e30.AA`, `${b64([1])}.e30.AA`]) {
      await assert.rejects(verifier.open(bad, 'Ack'), rejectsWith('MALFORMED'), String(bad));
    }
    // An embedded key must never be trusted: unexpected header parameters are refused outright.
    const embedded = await signRaw(alice, encodeMessage('Ack', { messageId: 'x' }), { ...header(alice), jwk: alice.pair.publicJwk });
    await assert.rejects(verifier.open(embedded, 'Ack'), rejectsWith('MALFORMED'));
  });

  it('rejects a validly signed payload that is not the declared message', async () => {
    const { verifier } = channel(alice);
    const garbage = await signRaw(alice, Uint8Array.from([0xff, 0xff, 0xff]), header(alice));
    await assert.rejects(verifier.open(garbage, 'Ack'), rejectsWith('MALFORMED'));
    // Ack.message_id (field 1) is a string: sent as a varint, the bytes are not an Ack.
    const wrongWireType = await signRaw(alice, Uint8Array.from([(1 << 3) | 0, 1]), header(alice));
    await assert.rejects(verifier.open(wrongWireType, 'Ack'), rejectsWith('MALFORMED'));
  });

  it('rejects algorithm confusion: none, HMAC keyed with the public key, RSA', async () => {
    const { verifier } = channel(alice);
    const payload = encodeMessage('Ack', { messageId: 'x' });
    const unsigned = `${b64(header(alice, { alg: 'none' }))}.${Buffer.from(payload).toString('base64url')}.`;
    await assert.rejects(verifier.open(unsigned, 'Ack'), rejectsWith('BAD_ALGORITHM'));
    const hmacKey = new TextEncoder().encode(JSON.stringify(alice.pair.publicJwk));
    const hmac = await new jose.CompactSign(payload)
      .setProtectedHeader(header(alice, { alg: 'HS256' }) as jose.CompactJWSHeaderParameters)
      .sign(hmacKey);
    await assert.rejects(verifier.open(hmac, 'Ack'), rejectsWith('BAD_ALGORITHM'));
    const rsa = `${b64(header(alice, { alg: 'RS256' }))}.${Buffer.from(payload).toString('base64url')}.${'A'.repeat(342)}`;
    await assert.rejects(verifier.open(rsa, 'Ack'), rejectsWith('BAD_ALGORITHM'));
  });

  it('refuses to pin one key for two senders', () => {
    const { verifier } = channel(alice);
    assert.throws(() => verifier.pin({ id: 'site-b', key: alice.verification }), rejectsWith('INVALID_KEY'));
  });
});
