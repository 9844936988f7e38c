/** Regenerates messages.generated.ts from lgefed.proto: `npm run gen -w @lgefed/protocol`. */
import { writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTypeScript } from './codegen.js';
import { PROTO_FILE, PROTO_PACKAGE, schemaRoot } from './schema.js';

const target = fileURLToPath(new URL('../src/messages.generated.ts', import.meta.url));
const namespace = schemaRoot().lookup(PROTO_PACKAGE);
if (!(namespace instanceof protobuf.Namespace)) throw new Error(`package ${PROTO_PACKAGE} not found in ${PROTO_FILE}`);
writeFileSync(target, renderTypeScript(namespace, basename(PROTO_FILE)));
console.log(`wrote ${target}`);
