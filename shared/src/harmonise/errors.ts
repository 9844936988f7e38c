/** Bad harmonisation input: malformed histograms or quantile tables, mismatched binning, bad privacy settings. */
export class HarmonisationError extends Error {
  override readonly name = 'HarmonisationError';
}
