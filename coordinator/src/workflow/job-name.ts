/** What people call each job kind when a job is submitted without a name. */
const KIND_NAMES: Readonly<Record<string, string>> = {
  train: 'training',
  pretrain: 'pretraining',
  evaluate: 'evaluation',
  fedavg: 'FedAvg',
  finetune: 'fine-tuning',
  'harmonisation-check': 'harmonisation check',
};

/** The job's name: the spec's `name`, else its kind and where it runs ("training at north", "FedAvg over 4 sites"). */
export function jobName(kind: string, spec: unknown): string {
  const s = (spec ?? {}) as { name?: unknown; site?: unknown; sites?: unknown };
  if (typeof s.name === 'string' && s.name.trim()) return s.name.trim();
  const where = typeof s.site === 'string' ? ` at ${s.site}` : Array.isArray(s.sites) ? ` over ${s.sites.length} site${s.sites.length === 1 ? '' : 's'}` : '';
  return `${KIND_NAMES[kind] ?? kind}${where}`;
}
