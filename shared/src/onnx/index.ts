export { encodeOnnxModel, OnnxAttributeType, OnnxDataType, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-schema.js';
export { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, unetOnnxModel } from './unet-graph.js';
export { ONNX_RUNTIME_MODULE, OnnxUnavailableError, onnxRuntimeAvailable } from './onnx-runtime.js';
export { OnnxLaneError } from './onnx-lanes.js';
export { OnnxProbabilityEngine, type OnnxEngineOptions } from './onnx-engine.js';
