import { UsageError, type Command } from './command.js';
import { commands } from './commands/index.js';

function listing(shown: readonly Command[]): string[] {
  const width = Math.max(...shown.map((c) => c.name.length), 8);
  return shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
}

function overview(): string {
  const lines = listing(commands);
  return [
    'lgefed — federated LV segmentation for LGE cardiac MRI',
    '',
    'Usage: lgefed <command> [options]    (lgefed <command> --help for details)',
    '',
    'Commands:',
    ...lines,
  ].join('\n');
}

/** Longest command name that prefixes the arguments, so `data check` wins over `data`. */
function resolve(args: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((w, i) => args[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: args.slice(words.length) };
    }
  }
  return best;
}

export async function main(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    console.log(overview());
    return args.length === 0 ? 2 : 0;
  }
  const found = resolve(args);
  // `lgefed coordinator --help`: the words name a group of commands, not one.
  const words = args.filter((a) => !a.startsWith('-'));
  const group = found ? [] : commands.filter((c) => c.name.split(' ').slice(0, words.length).join(' ') === words.join(' '));
  if (!found && words.length > 0 && group.length > 0) {
    const help = args.includes('--help') || args.includes('-h');
    (help ? console.log : console.error)([`Usage: lgefed ${words.join(' ')} <command> [options]    (--help after a command for details)`, '', 'Commands:', ...listing(group)].join('\n'));
    return help ? 0 : 2;
  }
  if (!found) {
    console.error(`lgefed: unknown command '${args.join(' ')}'\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`lgefed ${command.name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    const e = err as Error & { code?: string };
    console.error(`lgefed ${command.name}: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
    if (process.env.LGEFED_DEBUG) console.error(e.stack);
    return 1;
  }
}
