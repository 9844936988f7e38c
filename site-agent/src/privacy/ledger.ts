import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PolicyRefusal } from '../errors.js';

/**
 * ε is kept in whole millionths: sums in the ledger are then exact, and the noise sampler gets
 * integer parameters. Rounding is downwards (a release never spends more than was asked).
 */
export const toMicroEpsilon = (epsilon: number): number => Math.floor(epsilon * 1e6 + 1e-6);

export interface PrivacyRelease {
  readonly jobId: string;
  readonly taskId: string;
  readonly dataset: string;
  readonly epsilon: number;
}

interface LedgerFile {
  readonly format: 'lgefed-privacy-ledger/1';
  readonly releases: readonly (Omit<PrivacyRelease, 'epsilon'> & { readonly at: string; readonly microEpsilon: number })[];
}

export interface PrivacyBalance {
  readonly spentEpsilon: number;
  readonly budgetEpsilon: number;
  readonly remainingEpsilon: number;
}

/**
 * The site's privacy ledger (`<stateDir>/privacy-ledger.json`): every ε spent on a released
 * histogram, across tasks, retries, re-runs, jobs and restarts, against the total budget of the
 * site's policy. A release is charged (and the file durably replaced) before its noise is drawn,
 * so a crash can only over-count; one that would exceed the budget is refused. An unreadable
 * ledger refuses everything rather than starting again from zero.
 */
export class PrivacyLedger {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly budgetEpsilon: number,
  ) {}

  /** Charges a release; returns the ε actually spent (rounded down to a millionth) and the balance after it. */
  charge(release: PrivacyRelease): Promise<{ epsilon: number; balance: PrivacyBalance }> {
    return this.serialised(async () => {
      const ledger = await this.read();
      const micro = toMicroEpsilon(release.epsilon);
      if (!(micro > 0)) throw new PolicyRefusal('policy_epsilon', `ε = ${release.epsilon} is below the ledger's resolution of 1e-6`);
      const spent = sum(ledger);
      const budget = toMicroEpsilon(this.budgetEpsilon);
      if (spent + micro > budget) {
        throw new PolicyRefusal('policy_privacy_budget', `releasing a histogram with ε = ${micro / 1e6} would spend ${(spent + micro) / 1e6} of the site's total privacy budget of ε = ${budget / 1e6} (${spent / 1e6} spent)`);
      }
      const { epsilon: _asked, ...what } = release;
      await this.write({ ...ledger, releases: [...ledger.releases, { ...what, at: new Date().toISOString(), microEpsilon: micro }] });
      return { epsilon: micro / 1e6, balance: balanceOf(spent + micro, budget) };
    });
  }

  balance(): Promise<PrivacyBalance> {
    return this.serialised(async () => balanceOf(sum(await this.read()), toMicroEpsilon(this.budgetEpsilon)));
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<LedgerFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { format: 'lgefed-privacy-ledger/1', releases: [] };
      throw new PolicyRefusal('policy_privacy_budget', `cannot read the privacy ledger ${this.file}: ${(err as Error).message}`);
    }
    let ledger: LedgerFile | undefined;
    try {
      ledger = JSON.parse(text) as LedgerFile;
    } catch {
      ledger = undefined;
    }
    if (ledger?.format !== 'lgefed-privacy-ledger/1' || !Array.isArray(ledger.releases) || !ledger.releases.every((r) => Number.isSafeInteger(r.microEpsilon) && r.microEpsilon > 0)) {
      throw new PolicyRefusal('policy_privacy_budget', `the privacy ledger ${this.file} is damaged; no histogram is released until a site admin restores it`);
    }
    return ledger;
  }

  /** Write a sibling, flush it, rename it over the ledger, flush the directory: old or new, never half. */
  private async write(ledger: LedgerFile): Promise<void> {
    const temp = `${this.file}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(ledger, null, 1)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

const sum = (ledger: LedgerFile): number => ledger.releases.reduce((a, r) => a + r.microEpsilon, 0);

const balanceOf = (spent: number, budget: number): PrivacyBalance => ({ spentEpsilon: spent / 1e6, budgetEpsilon: budget / 1e6, remainingEpsilon: Math.max(0, budget - spent) / 1e6 });
