import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Router } from 'express';
import { adminApi } from '@lgefed/coordinator/http/admin-api';
import { withJobSpecs } from '@lgefed/coordinator/http/openapi-job-specs';
import { consoleApi } from '@lgefed/coordinator/http/console-api';
import { ConsoleViews } from '@lgefed/coordinator/live/console-views';
import { openCoordinatorState } from '@lgefed/coordinator/state';
import { JobEngine, WORKFLOWS } from '@lgefed/coordinator/workflow/index';
import { useTempDir } from '../coordinator/temp-dir.js';

type Layer = { route?: { path: string; methods: Record<string, boolean> } };

/** `METHOD /path/{param}` for every /api route an express router serves. */
function routes(router: { stack: Layer[] }): string[] {
  return router.stack
    .filter((l) => l.route && l.route.path.startsWith('/api/'))
    .flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`));
}

/** `METHOD /path` for every operation in openapi.yaml (paths at two spaces, methods at four). */
function documented(yaml: string): string[] {
  const out: string[] = [];
  let path = '';
  for (const line of yaml.split('\n')) {
    const p = /^ {2}(\/api\/\S+):\s*$/.exec(line);
    if (p) path = p[1]!;
    const m = /^ {4}(get|post|put|delete|patch):/.exec(line);
    if (m && path) out.push(`${m[1]!.toUpperCase()} ${path}`);
  }
  return out;
}

describe('OpenAPI document', () => {
  const dir = useTempDir();

  it('documents every REST route the coordinator serves, and nothing it does not', async () => {
    const state = await openCoordinatorState(dir());
    try {
      const engine = new JobEngine({ ...state, transport: { send: () => false }, workflows: WORKFLOWS });
      const admin = adminApi(state, engine, () => 'http://127.0.0.1');
      const served = [...routes((admin as unknown as { router: { stack: Layer[] } }).router), ...routes(consoleApi({ state, engine, views: new ConsoleViews(state, undefined) }) as Router & { stack: Layer[] })];
      const spec = documented(await readFile('coordinator/openapi.yaml', 'utf8'));
      assert.ok(served.length >= 16, `found only ${served.length} routes`);
      assert.deepEqual([...new Set(spec)].sort(), [...new Set(served)].sort());
    } finally {
      state.close();
    }
  });

  it('embeds the very schemas the coordinator validates job specs with (npm run openapi -w coordinator)', async () => {
    const yaml = await readFile('coordinator/openapi.yaml', 'utf8');
    assert.equal(withJobSpecs(yaml), yaml, 'openapi.yaml is out of date: run npm run openapi -w coordinator');
    for (const name of ['PretrainSpec', 'TrainSpec', 'EvaluateSpec', 'FedavgSpec', 'FinetuneSpec', 'HarmonisationCheckSpec']) {
      assert.match(yaml, new RegExp(`\\$ref: '#/components/schemas/${name}'`));
      assert.match(yaml, new RegExp(`^    ${name}: \\{`, 'm'));
    }
  });
});
