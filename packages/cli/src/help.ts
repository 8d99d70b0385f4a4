/** `coffer --help`, `coffer COMMAND --help`, `coffer key --help`. */
import { GLOBAL_OPTIONS, type OptionSpecs } from './args.ts';
import type { Command } from './command.ts';
import { COMMANDS, GROUPS } from './commands/index.ts';

const WIDTH = 80;

function wrap(text: string, indent = 0, width = WIDTH): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line !== '' && indent + line.length + 1 + word.length > width) {
        lines.push(' '.repeat(indent) + line);
        line = word;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    lines.push(line === '' ? '' : ' '.repeat(indent) + line);
  }
  return lines;
}

function optionLines(specs: OptionSpecs): string[] {
  const entries = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [flag, spec.description] as const;
  });
  const column = Math.min(30, Math.max(...entries.map(([flag]) => flag.length)) + 4);
  return entries.flatMap(([flag, description]) => {
    const [first = '', ...rest] = wrap(description, column + 2);
    const head = `  ${flag}`;
    return head.length + 2 <= column + 2 ? [`${head.padEnd(column + 2)}${first.trimStart()}`, ...rest] : [head, first, ...rest];
  });
}

function commandTable(commands: readonly Command[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
}

export function mainHelp(): string {
  return [
    'coffer: end-to-end encrypted backups',
    '',
    'Usage: coffer [global options] COMMAND [options] [arguments]',
    '',
    'Commands:',
    ...commandTable(COMMANDS),
    '',
    'Global options (anywhere on the line):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Environment:',
    '  COFFER_REPOSITORY          the repository, when -r/--repo is not given',
    '  COFFER_RECOVERY_KEY        the recovery key itself',
    '  COFFER_RECOVERY_KEY_FILE   a file holding the recovery key',
    '  COFFER_STATE_DIR           where rollback detection remembers what it saw',
    '                             (default $XDG_STATE_HOME/coffer or ~/.local/state/coffer)',
    '  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_PROFILE   for s3: repositories',
    '  COFFER_WEBDAV_USER, COFFER_WEBDAV_PASSWORD                         for webdav: repositories',
    '  COFFER_DEBUG=1             print stack traces with errors',
    '',
    'Exit codes: 0 success, 1 error, 3 backup written but some source paths were unreadable,',
    '10 no repository there, 11 repository locked, 12 wrong or mistyped recovery key,',
    '130/143 interrupted by SIGINT/SIGTERM.',
    '',
    'Run `coffer COMMAND --help` for the options of a command. Documentation: docs/cli.md.',
  ].join('\n');
}

export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: coffer ${group} SUBCOMMAND [options]`,
    '',
    GROUPS[group] ?? '',
    '',
    'Subcommands:',
    ...commandTable(commands),
    '',
    `Run \`coffer ${group} SUBCOMMAND --help\` for details.`,
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const hasOptions = Object.keys(command.options).length > 0;
  return [
    `Usage: coffer ${command.name}${hasOptions ? ' [options]' : ''}${command.usage === '' ? '' : ` ${command.usage}`}`,
    '',
    ...wrap(`${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.`),
    '',
    ...wrap(command.description),
    ...(hasOptions ? ['', 'Options:', ...optionLines(command.options)] : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
  ].join('\n');
}
