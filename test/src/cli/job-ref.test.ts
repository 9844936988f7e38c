import assert from 'node:assert/strict';
import { pickJob } from '@lgefed/cli/commands/admin';

describe('lgefed: a job given by id or name', () => {
  const jobs = [
    { id: 'a1', name: 'small FedAvg' },
    { id: 'b2', name: 'small FedAvg' },
    { id: 'c3', name: 'evaluation' },
    { id: 'd4', name: 'a1' },
  ];

  it('takes an id first, then the only job with that name', () => {
    assert.equal(pickJob(jobs, 'b2').id, 'b2');
    assert.equal(pickJob(jobs, 'evaluation').id, 'c3');
    assert.equal(pickJob(jobs, 'a1').id, 'a1', 'an id wins over a job named like it');
  });

  it('refuses a name that several jobs have, listing their ids, and one that no job has', () => {
    assert.throws(() => pickJob(jobs, 'small FedAvg'), { code: 'job_ambiguous', message: '2 jobs are named "small FedAvg"; give one of their ids: a1, b2' });
    assert.throws(() => pickJob(jobs, 'none'), { code: 'job_unknown', message: /^no job has the id or name "none"/ });
  });
});
