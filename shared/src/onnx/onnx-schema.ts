/**
 * The part of onnx.proto (package `onnx`, proto2) that a plain inference graph needs, declared by
 * protobufjs reflection so no .proto file, Python or code generation is involved. Field numbers are
 * the official ones; fields we never write are left out, which protobuf allows.
 */
import protobuf from 'protobufjs';

/** TensorProto.DataType values we use. */
export const OnnxDataType = { FLOAT: 1 } as const;

/** AttributeProto.AttributeType values we use. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

// proto2 repeated scalars are unpacked unless declared otherwise; keep onnx.proto's encoding.
const unpacked = { options: { packed: false } } as const;

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            ints: { rule: 'repeated', type: 'int64', id: 8, ...unpacked },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, ...unpacked },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
          },
        },
        TypeProto: {
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
          },
          nested: {
            Tensor: {
              fields: {
                elemType: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
              },
            },
          },
        },
      },
    },
  },
});

/** ModelProto as a plain object (camelCase field names, int64 as number). */
export interface OnnxModel {
  readonly irVersion: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly opsetImport: readonly { readonly domain?: string; readonly version: number }[];
  readonly graph: OnnxGraph;
}

export interface OnnxGraph {
  readonly name: string;
  readonly node: readonly OnnxNode[];
  readonly initializer: readonly OnnxTensor[];
  readonly input: readonly OnnxValueInfo[];
  readonly output: readonly OnnxValueInfo[];
}

export interface OnnxNode {
  readonly name?: string;
  readonly opType: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly attribute?: readonly OnnxAttribute[];
}

export interface OnnxAttribute {
  readonly name: string;
  readonly type: (typeof OnnxAttributeType)[keyof typeof OnnxAttributeType];
  readonly f?: number;
  readonly i?: number;
  readonly s?: Uint8Array;
  readonly ints?: readonly number[];
}

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: (typeof OnnxDataType)[keyof typeof OnnxDataType];
  /** Little-endian element bytes. */
  readonly rawData: Uint8Array;
}

/** A dense tensor value: element type and per-axis size, a number or a symbolic (dynamic) name. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly type: {
    readonly tensorType: {
      readonly elemType: number;
      readonly shape: { readonly dim: readonly ({ readonly dimValue: number } | { readonly dimParam: string })[] };
    };
  };
}

const modelType = root.lookupType('onnx.ModelProto');

/** The serialised ModelProto, as onnxruntime and onnx.load read it. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const message = modelType.fromObject(model as unknown as Record<string, unknown>);
  const problem = modelType.verify(message);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return modelType.encode(message).finish();
}
