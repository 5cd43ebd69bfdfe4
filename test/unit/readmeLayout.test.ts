import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Folders named in the README's layout table: rows that start with a backquoted `folder/`. */
function layoutTableFolders(readme: string): string[] {
  return [...readme.matchAll(/^\| `([^`]+)\/` \| (.+) \|$/gm)].map((match) => {
    expect(match[2].trim().length, `${match[1]}/ has a purpose`).toBeGreaterThan(10);
    return match[1];
  });
}

/** Folders that hold a tracked file (the repository root aside). */
function trackedFolders(): string[] {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  const folders = new Set(files.map((file) => file.split('/').slice(0, -1).join('/')).filter((folder) => folder !== ''));
  return [...folders];
}

describe('README layout table', () => {
  it('names every folder of the tree once, each with a purpose, and no folder that does not exist', () => {
    const named = layoutTableFolders(readFileSync(`${root}README.md`, 'utf8'));
    expect(new Set(named).size, 'a folder named twice').toBe(named.length);
    const tracked = trackedFolders();
    // A parent that only holds folders (models/) may be named too; every tracked folder must be.
    expect(tracked.filter((folder) => !named.includes(folder)).sort(), 'folders missing from the table').toEqual([]);
    const known = new Set(tracked.flatMap((folder) => folder.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
    expect(named.filter((folder) => !known.has(folder)).sort(), 'table rows for folders that do not exist').toEqual([]);
  });
});
