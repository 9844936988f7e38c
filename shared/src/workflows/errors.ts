/** Bad workflow input: an impossible split or selection, a missing model, a wrong harmonisation choice. */
export class WorkflowError extends Error {
  override readonly name = 'WorkflowError';
}
