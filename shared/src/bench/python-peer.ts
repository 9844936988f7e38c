/**
 * A Python peer script run with its own CPU accounting: a wrapper imports the `preload` modules, reads
 * getrusage(RUSAGE_SELF) (user + system, every thread), runs the script as __main__, and reads it
 * again. Interpreter start-up and heavy imports stay outside the count, as ours measures in a process
 * that has already loaded its engine; the kernel's own figures, not a guess from the parent's side.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's python3 carries the peers' packages; a pyenv python on PATH may not. */
const PYTHON = '/usr/bin/python3';

const WRAPPER = `
import importlib, json, resource, runpy, sys
preload, script, *args = sys.argv[1:]
for name in filter(None, preload.split(',')):
    importlib.import_module(name)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start = cpu()
sys.argv = [script, *args]
runpy.run_path(script, run_name='__main__')
sys.stdout.flush()
print('\\n' + json.dumps({'lgefed_peer_cpu_s': cpu() - start}))
`;

export interface PeerRun {
  /** The script's own stdout, without the wrapper's line. */
  readonly stdout: string;
  readonly cpuSeconds: number;
}

export interface PeerOptions {
  readonly preload?: readonly string[];
  readonly python?: string;
  /** Variables added to this process's environment for the peer (its runtime's tuning). */
  readonly env?: Readonly<Record<string, string>>;
}

export async function runPythonPeer(script: string, args: readonly string[], options: PeerOptions = {}): Promise<PeerRun> {
  const env = { ...process.env, ...options.env };
  const { stdout } = await run(options.python ?? PYTHON, ['-c', WRAPPER, (options.preload ?? []).join(','), script, ...args], { maxBuffer: 1 << 24, env });
  const cut = stdout.trimEnd().lastIndexOf('\n');
  const accounting = JSON.parse(stdout.slice(cut + 1)) as { lgefed_peer_cpu_s: number };
  return { stdout: stdout.slice(0, Math.max(cut, 0)), cpuSeconds: accounting.lgefed_peer_cpu_s };
}
