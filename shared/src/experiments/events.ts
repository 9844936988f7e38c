/** What a running experiment reports, for progress bars (CLI) or logs (agents, tests). */
export type ExperimentEvent =
  | { readonly type: 'arm'; readonly label: string; readonly index: number; readonly total: number }
  | { readonly type: 'training'; readonly label: string; readonly iteration: number; readonly iterations: number; readonly loss: number; readonly etaSeconds: number }
  | { readonly type: 'testing'; readonly label: string; readonly done: number; readonly total: number }
  | { readonly type: 'note'; readonly message: string };

export type ExperimentListener = (event: ExperimentEvent) => void;
