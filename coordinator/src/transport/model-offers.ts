import { ModelReassembler, packModel, type ModelManifest, type ModelPackage } from '@lgefed/protocol';
import { readFile } from 'node:fs/promises';
import type { ModelStore } from '../model-store.js';
import { decodeWeights, encodeTensors, parameterCount } from '@lgefed/protocol/weights-file';
import { EMPTY_ARCHITECTURE } from './task-wire.js';
import { TransportError } from './wire.js';

/** A stored model packed for the wire: its signed-manifest form and chunks built on request. */
export interface ModelOffer {
  readonly hash: string;
  readonly architecture: string;
  readonly package: ModelPackage;
}

/** Offers kept packed at once; a round sends the same global model to every site. */
const CACHED_OFFERS = 4;

/**
 * Stored models as wire transfers. The manifest's modelId is the store hash (sha256 of the weights
 * file), so a site can check the reassembled weights re-encode to exactly the model it was told.
 */
export class ModelOffers {
  private readonly byHash = new Map<string, Promise<ModelOffer>>();
  private readonly byTransfer = new Map<string, ModelOffer>();

  constructor(private readonly store: ModelStore) {}

  offer(hash: string): Promise<ModelOffer> {
    let offer = this.byHash.get(hash);
    if (!offer) {
      offer = this.pack(hash);
      this.byHash.set(hash, offer);
      offer.catch(() => this.byHash.delete(hash));
      while (this.byHash.size > CACHED_OFFERS) {
        const oldest = this.byHash.keys().next().value!;
        void this.byHash.get(oldest)!.then((o) => this.byTransfer.delete(o.package.manifest.transferId), () => undefined);
        this.byHash.delete(oldest);
      }
    }
    return offer;
  }

  /** The offer a ChunkRequest names, if still packed. */
  byTransferId(transferId: string): ModelOffer | undefined {
    return this.byTransfer.get(transferId);
  }

  private async pack(hash: string): Promise<ModelOffer> {
    const { header, parameters } = decodeWeights(await readFile(this.store.path(hash)));
    let offset = 0;
    const tensors = header.tensors.map(({ name, shape }) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = parameters.subarray(offset, offset + size);
      offset += size;
      return { name, shape, data };
    });
    const modelPackage = packModel(tensors, { modelId: hash, architecture: { ...EMPTY_ARCHITECTURE, name: header.architecture, parameterCount: parameterCount(header) } });
    const offer = { hash, architecture: header.architecture, package: modelPackage };
    this.byTransfer.set(modelPackage.manifest.transferId, offer);
    return offer;
  }
}

/**
 * A site's upload in progress: chunks checked against its signed manifest, and on completion the
 * weights written to the model store under their content hash.
 */
export class ModelUpload {
  private readonly reassembler: ModelReassembler;
  private stored: Promise<string> | undefined;

  constructor(
    readonly manifest: ModelManifest,
    /** sha256 of the manifest's signed payload bytes, which a TrainResult must quote. */
    readonly manifestSha256: Uint8Array,
    private readonly store: ModelStore,
    maxModelBytes: number,
  ) {
    if (!manifest.architecture.name) throw new TransportError('unexpected_message', 'an uploaded model must name its architecture');
    this.reassembler = new ModelReassembler(manifest, { maxModelBytes });
  }

  get missing(): number[] {
    return this.reassembler.missing;
  }

  /** Accepts a frame; when it was the last one, returns once the weights are stored. */
  async accept(frame: Uint8Array): Promise<void> {
    this.reassembler.accept(frame);
    if (this.reassembler.complete) await this.storedHash();
  }

  /** The store hash of the complete upload. */
  storedHash(): Promise<string> {
    if (!this.reassembler.complete) throw new TransportError('upload_incomplete', `upload ${this.manifest.transferId} is missing ${this.missing.length} chunk(s)`);
    this.stored ??= this.store.put(encodeTensors(this.manifest.architecture.name, this.reassembler.result()));
    return this.stored;
  }

  get complete(): boolean {
    return this.reassembler.complete;
  }
}
