/**
 * `lgefed demo` end to end: sites' data, the federation's processes, the study (or the fault
 * drills), the summary and the report; then the console keeps serving the results until Ctrl-C
 * (unless `--exit`). Every process is stopped at the end, on failure and on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveArchitecture } from '@lgefed/site-agent/architecture';
import { loadModelDirectory, readReferenceProfile, REFERENCE_PROFILE_FILE, type LoadedModel } from '@lgefed/shared/workflows/index';
import type { ReferenceIntensityProfile } from '@lgefed/shared/harmonise/index';
import { FAULTS, runFaultDrill } from './chaos.js';
import { DemoFederation } from './federation.js';
import { reopenHelp, untilInterrupted } from './keep-serving.js';
import type { DemoOptions } from './options.js';
import { ProgressBoard } from './progress.js';
import { writeStudyReport } from './report.js';
import { prepareSites } from './sites.js';
import { describeSizes, FULL, QUICK, type DemoSizes } from './sizes.js';
import { Study, type StudyJob } from './study.js';
import { buildSummary, renderSummary, type DemoSummary, type FaultSummary } from './summary.js';

/** The demo cannot start: a missing or unusable input, said plainly. */
export class DemoError extends Error {
  override readonly name = 'DemoError';
}

/** The pretrained model, checked to be the network the demo serves (same layers; the crop size may differ). */
async function loadPretrained(dir: string, architecture: string): Promise<LoadedModel> {
  let model: LoadedModel;
  try {
    model = await loadModelDirectory(dir);
  } catch (err) {
    throw new DemoError(`cannot load the pretrained model from ${dir}: ${(err as Error).message}`);
  }
  const served = resolveArchitecture(architecture);
  const { inputSize: _a, ...want } = served;
  const { inputSize: _b, ...have } = model.spec;
  if (JSON.stringify(want) !== JSON.stringify(have)) throw new DemoError(`the pretrained model in ${dir} is ${JSON.stringify(model.spec)}; the demo serves ${architecture} (${JSON.stringify(served)})`);
  return model;
}

async function loadReference(dir: string): Promise<ReferenceIntensityProfile | null> {
  try {
    return await readReferenceProfile(join(dir, REFERENCE_PROFILE_FILE));
  } catch {
    return null;
  }
}

/** Best effort: a desktop browser on the console; on a server or in CI there is none and that is fine. */
function openInBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) return;
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

export interface DemoRun {
  readonly summary: DemoSummary;
  /** True when every job completed and every fault check passed. */
  readonly ok: boolean;
}

/**
 * The agents share this machine's cores and work side by side: more wasm threads than cores makes
 * XNNPACK's worker threads spin against each other, so each agent gets its share (LGEFED_THREADS wins).
 */
function agentThreads(agents: number): Record<string, string> {
  if (process.env['LGEFED_THREADS']) return {};
  return { LGEFED_THREADS: String(Math.max(1, Math.floor(availableParallelism() / agents))) };
}

export async function runDemo(options: DemoOptions, out: NodeJS.WriteStream = process.stdout): Promise<DemoRun> {
  const started = Date.now();
  const sizes: DemoSizes = options.quick ? QUICK : FULL;
  const board = new ProgressBoard();
  const log = (line: string) => board.log(line);
  const workdir = resolve(options.workdir ?? (await mkdtemp(join(tmpdir(), 'lgefed-demo-'))));
  const runDir = join(workdir, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  log(`lgefed demo (${describeSizes(sizes)})`);
  log(`work folder ${runDir}`);

  const pretrained = await loadPretrained(options.pretrainedDir, sizes.architecture);
  const reference = await loadReference(options.pretrainedDir);
  const prepared = await prepareSites({ runDir, dataRoot: join(workdir, 'data') }, options.sites, sizes, options.seed, log);
  const federation = await DemoFederation.start(
    { stateDir: join(runDir, 'coordinator'), sites: prepared, pretrained: { model: pretrained, architecture: sizes.architecture }, port: options.port, agentEnv: agentThreads(prepared.length) },
    log,
  );
  const interrupted = () => {
    board.log('interrupted: stopping the coordinator and agents');
    void federation.close().then(() => process.exit(130));
  };
  const stopListening = () => {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const consoleUrl = `${federation.url}/console/`;
    log(`console  ${consoleUrl}`);
    log(`admin token (paste into the console): ${federation.token}`);
    if (options.open) openInBrowser(consoleUrl);

    const jobs: StudyJob[] = [];
    const faults: FaultSummary[] = [];
    if (options.chaos) {
      const modelBytes = pretrained.weights.reduce((n, t) => n + t.data.length, 0) * 4;
      const config = { epochs: 1, seed: options.seed, batchSize: sizes.batchSize, learningRate: sizes.learningRate };
      for (const fault of FAULTS) {
        const drill = await runFaultDrill(federation, fault, {
          architecture: sizes.architecture,
          initialModel: federation.pretrainedHash,
          config,
          deadlineSeconds: fault === 'site-delayed-past-deadline' ? Math.min(120, sizes.deadlineSeconds) : sizes.deadlineSeconds,
          modelBytes,
          log,
          onView: (label, view) => board.update(label, view),
        });
        board.remove(drill.job.label);
        log(`${drill.summary.passed ? '✔' : '✘'} ${fault}: ${drill.summary.status} — ${drill.summary.detail}`);
        faults.push(drill.summary);
        jobs.push({ step: 'fedavg', job: drill.job });
      }
    } else {
      const study = new Study({ client: () => federation.client, sites: federation.sites.map((s) => s.name), sizes, seed: options.seed, pretrainedHash: federation.pretrainedHash, reference, board });
      await study.run();
      jobs.push(...study.jobs);
    }

    const ownProfileSite = options.sites.find((s) => s.phantomProfile === 'emidec')?.name ?? null;
    const base = { sizes, consoleUrl, jobs, sites: prepared.map((s) => ({ name: s.name, source: s.source })), ownProfileSite, faults };
    const draft = buildSummary({ ...base, seconds: (Date.now() - started) / 1000, report: null });
    const report = await writeStudyReport(join(runDir, 'report'), federation.client, draft);
    const summary = buildSummary({ ...base, seconds: (Date.now() - started) / 1000, report });
    out.write(`\n${renderSummary(summary)}\n\nSizes: ${describeSizes(sizes)}\nReport: ${report}\n`);
    if (options.summaryFile) {
      await writeFile(options.summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
      out.write(`Summary JSON: ${resolve(options.summaryFile)}\n`);
    }
    const ok = summary.jobs.every((j) => j.status === 'completed') && summary.faults.every((f) => f.passed);
    if (options.exit) out.write(`\n${reopenHelp(federation.stateDir, federation.port)}\n`);
    else {
      // The study is over: Ctrl-C now ends the demo normally instead of interrupting it.
      stopListening();
      const waiting = untilInterrupted();
      out.write(`\nThe console stays up with the results: ${consoleUrl} (admin token above). Press Ctrl-C to stop.\n${reopenHelp(federation.stateDir, federation.port)}\n`);
      await waiting;
    }
    return { summary, ok };
  } finally {
    stopListening();
    await federation.close();
  }
}
