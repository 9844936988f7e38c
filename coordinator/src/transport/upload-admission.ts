import type { ModelManifest } from '@lgefed/protocol';
import type { TaskRecord } from '../store/jobs.js';
import { layoutProblem } from '../workflow/architecture-layout.js';
import { TransportError } from './wire.js';

/**
 * Whether a site may start uploading the model a manifest describes. Weights arrive only as the
 * result of a train task the site was sent: the manifest must name that task's architecture and
 * list exactly its tensors (so an upload is the size of that network, not up to the transfer
 * limit), and a site has no more uploads open at once than such tasks.
 */
export function admitUpload(manifest: ModelManifest, openTasks: readonly TaskRecord[], uploadsOpen: number): void {
  const training = openTasks.filter((t) => t.kind === 'train' && t.status === 'dispatched');
  if (training.length === 0) throw new TransportError('upload_not_expected', 'no train task is assigned to this site: weights are accepted only as a task result');
  if (uploadsOpen >= training.length) throw new TransportError('upload_not_expected', `${uploadsOpen} upload(s) already open for ${training.length} assigned train task(s)`);
  const architecture = manifest.architecture.name;
  if (!training.some((t) => (t.payload as { architecture?: unknown }).architecture === architecture)) {
    throw new TransportError('upload_not_expected', `no train task assigned to this site trains ${JSON.stringify(architecture)}`);
  }
  const problem = layoutProblem(manifest.tensors, architecture);
  if (problem) throw new TransportError('upload_not_expected', `the manifest lists ${problem}`);
}
