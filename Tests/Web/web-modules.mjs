// Imports Web/ modules for the node tests (not a test itself: node --test runs *.test.mjs). The
// modules are copied into a temporary folder marked as ES modules, so any Node with ES modules (18
// and later) runs them as the browser does, without a package.json in Web/.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository's root folder. */
export const repository = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The exports of each of `names` (file names in Web/), in that order. */
export async function importWebModules(...names) {
    const modules = mkdtempSync(join(tmpdir(), 'xy-web-'));
    try {
        for (const name of readdirSync(join(repository, 'Web')).filter((file) => file.endsWith('.js'))) {
            copyFileSync(join(repository, 'Web', name), join(modules, name));
        }
        writeFileSync(join(modules, 'package.json'), '{"type":"module"}');
        const loaded = [];
        for (const name of names) loaded.push(await import(pathToFileURL(join(modules, name)).href));
        return loaded;
    } finally {
        rmSync(modules, { recursive: true, force: true });
    }
}
