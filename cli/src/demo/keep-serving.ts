/**
 * After the study the demo keeps its coordinator (and agents) up, so the console goes on serving
 * the results, until Ctrl-C; `--exit` skips this for scripts and CI.
 */

/** How to open the console on the demo's kept state later, after this process has gone. */
export function reopenHelp(stateDir: string, port: number): string {
  return [
    `To open the console on these results later:`,
    `  npx lgefed coordinator start --state ${stateDir} --port ${port}`,
    `  npx lgefed coordinator token --state ${stateDir} --subject you --role viewer   # a token to sign in with`,
  ].join('\n');
}

/** Resolves with the signal's name at the first SIGINT or SIGTERM (instead of the default exit). */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // Signal listeners do not keep Node running: this timer does, whatever else is open.
    const alive = setInterval(() => undefined, 1 << 30);
    const stop = (signal: NodeJS.Signals) => {
      clearInterval(alive);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve(signal);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
