import { parseArgs } from 'node:util';
import { generateKeyPair, writeKeyPair } from '@lgefed/protocol';
import { UsageError, type Command } from '../command.js';

/** `lgefed keygen`: an Ed25519 key pair for signing protocol messages, as JWK files. */
export const keygen: Command = {
  name: 'keygen',
  summary: 'create an Ed25519 signing key pair (JWK files)',
  usage: [
    'Usage: lgefed keygen --out DIR [--name NAME]',
    '',
    'Writes DIR/NAME.private.jwk (mode 0600; keep it on this machine) and DIR/NAME.public.jwk',
    '(give it to the other party to pin). NAME defaults to "lgefed". Existing files are never',
    'overwritten. Prints the key id (the RFC 7638 thumbprint every signed message carries).',
  ].join('\n'),
  async run(args) {
    let values: { out?: string; name?: string };
    try {
      ({ values } = parseArgs({ args, options: { out: { type: 'string' }, name: { type: 'string' } }, strict: true }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (!values.out) throw new UsageError('--out DIR is required');
    const pair = await generateKeyPair();
    const { privatePath, publicPath } = await writeKeyPair(values.out, values.name ?? 'lgefed', pair);
    console.log(`key id   ${pair.kid}\nprivate  ${privatePath}\npublic   ${publicPath}`);
    return 0;
  },
};
