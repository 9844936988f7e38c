import assert from 'node:assert/strict';
import { UsageError } from '@lgefed/cli/command';
import { parseDemoArgs } from '@lgefed/cli/demo/options';

describe('lgefed demo options', () => {
  it('defaults to the four phantom sites of Table 1 and the full sizes', () => {
    const o = parseDemoArgs([]);
    assert.deepEqual(o.sites.map((s) => s.phantomProfile), ['emidec', 'mscmr', 'vh', 'stpau']);
    assert.equal(o.quick, false);
    assert.equal(o.summaryFile, null);
    assert.equal(o.exit, false, 'keeps the console up after the study');
    assert.equal(parseDemoArgs(['--exit']).exit, true);
  });

  it('takes real data folders instead of phantoms', () => {
    const o = parseDemoArgs(['--quick', '--site', 'dijon=/data/emidec', '--site', 'london=/data/mscmr', '--summary', 's.json']);
    assert.deepEqual(o.sites, [{ name: 'dijon', dataDir: '/data/emidec' }, { name: 'london', dataDir: '/data/mscmr' }]);
    assert.equal(o.summaryFile, 's.json');
  });

  it('refuses one site, duplicate names, bad ports and unknown flags with a usage error', () => {
    assert.throws(() => parseDemoArgs(['--site', 'a=/x']), UsageError);
    assert.throws(() => parseDemoArgs(['--site', 'a=/x', '--site', 'a=/y']), /unique/);
    assert.throws(() => parseDemoArgs(['--site', 'no-equals']), /NAME=DIR/);
    assert.throws(() => parseDemoArgs(['--port', '70000']), /--port/);
    assert.throws(() => parseDemoArgs(['--fast']), UsageError);
  });
});
