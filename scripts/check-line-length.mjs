// Lines longer than the formatter's width that it cannot wrap itself (comments, long string literals):
// `npm run lint` fails on any line over MAX in the TypeScript sources and tests, naming file and line. As ESLint's
// max-len with ignoreRegExpLiterals/ignoreStrings: a line holding nothing but one regular expression or one plain
// string literal (a pattern a test matches, a CSV header) is exempt, since cutting it would hurt reading it.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 120;
const LONE_LITERAL = /^\s*(\/(?:[^/\\\n]|\\.)+\/[a-z]*|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")[,;]?( \+)?$/;
const roots = ['src', 'test'];
const over = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > MAX && !LONE_LITERAL.test(line)) over.push(`${path}:${i + 1}: ${line.length} characters`);
        });
    }
  }
}
for (const root of roots) walk(root);
if (over.length > 0) {
  console.error(over.join('\n'));
  console.error(`${over.length} line(s) over ${MAX} characters`);
  process.exit(1);
}
console.log(`line length: every line of ${roots.join(', ')} is at most ${MAX} characters`);
