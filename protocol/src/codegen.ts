import protobuf from 'protobufjs';

/** Scalar protobuf types that map exactly onto a TypeScript type (no 64-bit integers: no Long). */
const SCALARS: Readonly<Record<string, string>> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'Uint8Array',
};

/**
 * TypeScript declarations for every message and enum of `namespace`, as plain objects with every
 * field present (the shape `decodeMessage` returns). Refuses schema features that would not map
 * onto plain fields, so the .proto cannot drift into them unnoticed.
 */
export function renderTypeScript(namespace: protobuf.Namespace, protoFileName: string): string {
  const out: string[] = [
    `// Generated from ${protoFileName} by \`npm run gen -w @lgefed/protocol\`. Do not edit.`,
    '',
  ];
  const messages: string[] = [];
  for (const item of namespace.nestedArray) {
    if (item instanceof protobuf.Enum) {
      out.push(...docComment(item.comment, ''));
      out.push(`export type ${item.name} =\n${Object.keys(item.values).map((v) => `  | '${v}'`).join('\n')};`, '');
    } else if (item instanceof protobuf.Type) {
      messages.push(item.name);
      out.push(...renderMessage(item), '');
    } else {
      throw new Error(`unsupported schema element ${item.fullName}`);
    }
  }
  out.push(
    '/** Every message type by name, for typed encode/decode/seal/open. */',
    'export interface MessageTypes {',
    ...messages.map((name) => `  ${name}: ${name};`),
    '}',
    '',
    'export type MessageTypeName = keyof MessageTypes;',
    '',
    'export const MESSAGE_TYPE_NAMES: readonly MessageTypeName[] = [',
    ...messages.map((name) => `  '${name}',`),
    '];',
    '',
  );
  return out.join('\n');
}

function renderMessage(type: protobuf.Type): string[] {
  if (type.nestedArray.length > 0) throw new Error(`${type.fullName}: nested declarations are not supported`);
  if (type.oneofsArray.length > 0) throw new Error(`${type.fullName}: oneofs are not supported`);
  const lines = [...docComment(type.comment, ''), `export interface ${type.name} {`];
  for (const field of type.fieldsArray) {
    if (field.map) throw new Error(`${field.fullName}: maps are not supported`);
    const resolved = field.resolve().resolvedType;
    const base = resolved ? resolved.name : SCALARS[field.type];
    if (!base) throw new Error(`${field.fullName}: type ${field.type} is not supported`);
    lines.push(...docComment(field.comment, '  '), `  readonly ${field.name}: ${field.repeated ? `readonly ${base}[]` : base};`);
  }
  lines.push('}');
  return lines;
}

function docComment(comment: string | null, indent: string): string[] {
  if (!comment) return [];
  const text = comment.trim().split('\n');
  return text.length === 1
    ? [`${indent}/** ${text[0]} */`]
    : [`${indent}/**`, ...text.map((line) => `${indent} * ${line}`.trimEnd()), `${indent} */`];
}
