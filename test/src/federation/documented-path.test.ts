import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cli, spawnCliWithEnv, type Proc, freePort } from './harness.js';

const run = promisify(execFile);
const README = resolve('deploy/README.md');

/** The commands of the README's ```sh blocks, continuation lines joined, comments dropped. */
function shellCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** The words after `lgefed.js` of the one documented command containing `needle`. */
function lgefedArgs(commands: readonly string[], needle: string): string[] {
  const found = commands.filter((c) => c.includes(needle) && c.includes('lgefed.js'));
  assert.equal(found.length, 1, `deploy/README.md documents one \`${needle}\` command, found ${found.length}`);
  return found[0]!.split(/\s+/).slice(found[0]!.split(/\s+/).indexOf('cli/bin/lgefed.js') + 1);
}

/** The words of an inline `lgefed …` command in the README's prose ("The unit runs `…`"). */
function inlineCommand(markdown: string, start: string): string[] {
  const m = new RegExp('`lgefed (' + start + '[^`]*)`').exec(markdown);
  assert.ok(m, `deploy/README.md says how the unit runs lgefed ${start}`);
  return m[1]!.split(/\s+/);
}

const EMIDEC = '/work/shared/data/emidec-lge-slices';

/** A hospital's data folder holding `cases` of the real EMIDEC slices (images/ and labels/, copied). */
async function emidecSite(dir: string, cases: readonly string[]): Promise<void> {
  for (const sub of ['images', 'labels']) {
    await mkdir(join(dir, sub), { recursive: true });
    for (const file of await readdir(join(EMIDEC, sub))) if (cases.some((c) => file.startsWith(`${c}_slice`))) await copyFile(join(EMIDEC, sub, file), join(dir, sub, file));
  }
}

const replaceAll = (args: readonly string[], map: Readonly<Record<string, string>>) => args.map((a) => map[a] ?? a);

/**
 * deploy/README.md followed step by step on loopback with real processes: the CA from make-ca.sh,
 * the coordinator with TLS as the unit runs it, two sites enrolled with the documented commands and
 * started with the documented site.json, every documented `admin submit`, then results and the
 * report. Paths and host names are mapped to a temporary directory and 127.0.0.1; the training jobs
 * get flags appended that shrink them to a few iterations. Each site holds 25 real EMIDEC cases
 * (LGE MRI, PNG slices): the shipped model saw most of them in training, so its Dice here shows the
 * path works on real files, not how it generalises. A doc step that breaks fails here.
 */
describe('deploy/README.md, step by step (real processes, TLS, two sites)', function () {
  this.timeout(900_000);
  let root = '';
  let markdown = '';
  let coordinator: Proc | undefined;
  const agents: Proc[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-documented-'));
    markdown = await readFile(README, 'utf8');
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('goes from an empty machine to a finished cross-site evaluation of the shipped model, and runs every documented job', async () => {
    const commands = shellCommands(markdown);
    const ca = join(root, 'ca');
    const state = join(root, 'coordinator');
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;

    // 1. TLS: the documented make-ca.sh call, for this host.
    const makeCa = commands.find((c) => c.startsWith('deploy/tls/make-ca.sh'));
    assert.ok(makeCa, 'make-ca.sh step');
    const [, , , san] = makeCa.split(/\s+/);
    assert.match(san!, /^IP:/);
    await run('bash', [resolve('deploy/tls/make-ca.sh'), ca, 'localhost', 'IP:127.0.0.1']);

    // 2. The coordinator as the unit runs it (loopback instead of 0.0.0.0, a free port).
    const start = inlineCommand(markdown, 'coordinator start');
    for (const flag of ['--state', '--host', '--port', '--public-url', '--tls-cert', '--tls-key']) assert.ok(start.includes(flag), `the unit passes ${flag}`);
    coordinator = spawnCliWithEnv({}, 'coordinator', 'start', '--state', state, '--host', '127.0.0.1', '--port', String(port), '--public-url', url, '--tls-cert', join(ca, 'server.crt'), '--tls-key', join(ca, 'server.key'));
    await coordinator.waitFor(/coordinator listening on https:/);

    // 3. The shipped model is there from the first start.
    const models = await cli('coordinator', 'models', 'list', '--state', state);
    assert.match(models.stdout, /^emidec-unet-lite\s+[0-9a-f]{64}/m);

    // 4. Enrolment kits and an admin token, with the documented commands.
    const enroll = lgefedArgs(commands, 'coordinator enroll');
    const token = (await cli(...replaceAll(lgefedArgs(commands, 'coordinator token'), { '/var/lib/lgefed/coordinator': state }))).stdout.trim();
    assert.match(token, /^ey/);

    // 5. Each hospital: data, the documented site.json (approved architecture from arch-hash), the agent as its unit runs it.
    const siteJson = /### 3\.1[\s\S]*?```json\n([\s\S]*?)```/.exec(markdown)?.[1];
    assert.ok(siteJson, 'site.json in section 3.1');
    const archHash = (await cli('site', 'arch-hash', 'lite')).stdout.trim();
    const agentArgs = inlineCommand(markdown, 'site start');
    const emidecCases = [...new Set((await readdir(join(EMIDEC, 'images'))).map((f) => f.replace(/_slice\d+\.png$/, '')))].sort();
    for (const [i, name] of ['dijon', 'toronto'].entries()) {
      const dir = join(root, name);
      await emidecSite(join(dir, 'data'), emidecCases.slice(25 * i, 25 * (i + 1)));
      const kit = join(dir, 'kit.json');
      const made = await cli(...replaceAll(enroll, { '/var/lib/lgefed/coordinator': state, dijon: name, '/tmp/dijon-kit.json': kit }));
      assert.equal(made.code, 0, made.stderr);
      const config = JSON.parse(siteJson.replace('<output of: lgefed site arch-hash lite>', archHash)) as { stateDir: string; datasets: { path: string }[] };
      config.stateDir = join(dir, 'state');
      config.datasets[0]!.path = join(dir, 'data');
      await writeFile(join(dir, 'site.json'), JSON.stringify(config, null, 2));
      await mkdir(join(dir, 'state'), { recursive: true });
      const agent = spawnCliWithEnv({ NODE_EXTRA_CA_CERTS: join(ca, 'ca.crt'), LGEFED_BACKEND: 'auto' }, ...replaceAll(agentArgs, { '/etc/lgefed/kit.json': kit, '/etc/lgefed/site.json': join(dir, 'site.json') }));
      agents.push(agent);
      await agent.waitFor(new RegExp(`connected to ${url.replace(/\./g, '\\.')} as ${name}`), 120_000);
      assert.match(agent.output, /dataset lge: 25\/25 labelled case\(s\); split train 15, validation 5, test 5/);
      // As the docs say: delete the kit after the first start.
      await rm(kit);
    }

    // 6. The documented jobs, each followed to its end (training shrunk to a few iterations).
    const env = { LGEFED_URL: url, LGEFED_TOKEN: token, NODE_EXTRA_CA_CERTS: join(ca, 'ca.crt') };
    const shrink: Record<string, string[]> = { finetune: ['--iterations', '2'], fedavg: ['--rounds', '1', '--no-local-baselines'] };
    const submitted: Record<string, string> = {};
    const submissions = commands.filter((c) => c.includes('admin submit'));
    assert.deepEqual(submissions.map((c) => c.split(/\s+/)[4]).sort(), ['evaluate', 'fedavg', 'finetune', 'harmonisation-check']);
    for (const line of submissions) {
      const args = line.split(/\s+/).slice(2);
      const kind = args[2]!;
      const job = spawnCliWithEnv(env, ...args, ...(shrink[kind] ?? []));
      const code = await Promise.race([job.exited, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 300_000))]);
      if (code === 'stuck') await job.kill();
      assert.equal(code, 0, `${line}\n${job.output}\n${agents.map((a) => a.output.slice(-3000)).join('\n---\n')}`);
      submitted[kind] = /^([0-9a-f-]{36})$/m.exec(job.output)![1]!;
    }

    // 7. Results and the report of the cross-site evaluation of the shipped model.
    const results = spawnCliWithEnv(env, ...replaceAll(lgefedArgs(commands, 'admin results'), { '<id>': submitted['evaluate']! }));
    assert.equal(await results.exited, 0, results.output);
    assert.match(results.output, /Cross-site Dice/);
    for (const site of ['dijon', 'toronto']) {
      const dice = new RegExp(`bloodpool\\s+emidec-unet-lite\\s+${site}\\s+(0\\.\\d+)`).exec(results.output);
      // A pipeline that mishandles real files (orientation, intensities, labels) scores near 0.
      assert.ok(dice && Number(dice[1]) > 0.5, `the shipped model segments ${site}'s real images: ${results.output}`);
    }
    const out = join(root, 'study-report');
    const report = spawnCliWithEnv(env, ...replaceAll(lgefedArgs(commands, 'lgefed.js report'), { '<id>': submitted['evaluate']!, 'study-report': out }));
    assert.equal(await report.exited, 0, report.output);
    await access(join(out, 'index.html'));
  });
});
