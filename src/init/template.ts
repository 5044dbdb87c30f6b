/**
 * The template language of templates/: a small, line-oriented subset of mustache, so the
 * templates stay plain Dockerfiles a person can read (and copy from) on their own.
 *
 *   {{name}}               replaced by the value; a line holding only a placeholder whose
 *                          value is empty disappears
 *   {{#name}} ... {{/name}}  lines kept when `name` is true or a non-empty string
 *   {{^name}} ... {{/name}}  lines kept when `name` is false or empty
 *   {{! note }}            a line for template readers only, never rendered
 *
 * Section and note tags must stand alone on their line.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ImgtoolError } from '../image/errors.js';

/** Values a template can use. */
export type TemplateValues = Readonly<Record<string, string | boolean>>;

/** The templates/ directory shipped with the package (next to src/ and dist/). */
export function templatesDir(): string {
  return fileURLToPath(new URL('../../templates/', import.meta.url));
}

/** Reads `templates/<name>`. */
export async function loadTemplate(name: string, signal?: AbortSignal): Promise<string> {
  const file = join(templatesDir(), name);
  try {
    return await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) });
  } catch (err) {
    throw new ImgtoolError('INIT_TEMPLATE_INVALID', `cannot read template ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
      hint: 'the imgtool installation is incomplete: reinstall it (templates/ ships with the package)',
    });
  }
}

const SECTION = /^\s*\{\{([#^/])\s*([A-Za-z_][\w]*)\s*\}\}\s*$/;
const NOTE = /^\s*\{\{!.*\}\}\s*$/;
const LONE_PLACEHOLDER = /^\s*\{\{\s*([A-Za-z_][\w]*)\s*\}\}\s*$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w]*)\s*\}\}/g;

function truthy(value: string | boolean | undefined): boolean {
  return value === true || (typeof value === 'string' && value.length > 0);
}

/** Renders `template` (named `name` in errors) with `values`. Unknown names are errors. */
export function renderTemplate(name: string, template: string, values: TemplateValues): string {
  const lookup = (key: string, line: number): string | boolean => {
    const value = values[key];
    if (value === undefined) {
      throw new ImgtoolError('INIT_TEMPLATE_INVALID', `template ${name} line ${line} uses {{${key}}}, which has no value`, {
        details: { file: name, line },
        hint: 'this is a bug in imgtool or an edited template: report it with the template name',
      });
    }
    return value;
  };
  const out: string[] = [];
  // Each open section: its name and whether its lines are kept (including enclosing sections).
  const stack: { key: string; keep: boolean }[] = [];
  const lines = template.split('\n');
  lines.forEach((text, i) => {
    const lineNo = i + 1;
    const keeping = stack.every((s) => s.keep);
    if (NOTE.test(text)) return;
    const section = SECTION.exec(text);
    if (section) {
      const [, kind, key = ''] = section;
      if (kind === '/') {
        const open = stack.pop();
        if (open?.key !== key) {
          throw new ImgtoolError('INIT_TEMPLATE_INVALID', `template ${name} line ${lineNo} closes {{/${key}}} but ${open ? `{{${open.key}}}` : 'nothing'} is open`, {
            details: { file: name, line: lineNo },
          });
        }
        return;
      }
      const on = truthy(lookup(key, lineNo));
      stack.push({ key, keep: kind === '#' ? on : !on });
      return;
    }
    if (!keeping) return;
    const lone = LONE_PLACEHOLDER.exec(text);
    if (lone) {
      const value = lookup(lone[1] ?? '', lineNo);
      if (value === '' || value === false) return;
    }
    out.push(
      text.replace(PLACEHOLDER, (_m, key: string) => {
        const value = lookup(key, lineNo);
        return typeof value === 'string' ? value : String(value);
      }),
    );
  });
  if (stack.length > 0) {
    throw new ImgtoolError('INIT_TEMPLATE_INVALID', `template ${name} leaves {{${stack[stack.length - 1]?.key ?? ''}}} open`, {
      details: { file: name },
    });
  }
  // Sections that vanish leave blank runs behind; one blank line between blocks is enough.
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
