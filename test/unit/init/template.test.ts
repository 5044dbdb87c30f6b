import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/init/template.js';
import { isImgtoolError } from '../../../src/image/errors.js';

describe('renderTemplate', () => {
  it('replaces placeholders and keeps or drops sections', () => {
    const tpl = ['{{! a note for template readers }}', 'FROM {{base}}', '{{#native}}', 'RUN build {{what}}', '{{/native}}', '{{^native}}', 'RUN nothing', '{{/native}}', ''].join('\n');
    expect(renderTemplate('t', tpl, { base: 'node:20', native: true, what: 'addons' })).toBe('FROM node:20\nRUN build addons\n');
    expect(renderTemplate('t', tpl, { base: 'node:20', native: false, what: 'addons' })).toBe('FROM node:20\nRUN nothing\n');
  });

  it('treats empty strings as false and drops a line holding only an empty placeholder', () => {
    const tpl = 'A\n{{#w}}\n# warnings:\n{{w}}\n{{/w}}\n{{lines}}\nB\n';
    expect(renderTemplate('t', tpl, { w: '', lines: '' })).toBe('A\nB\n');
    expect(renderTemplate('t', tpl, { w: '# one\n# two', lines: 'X' })).toBe('A\n# warnings:\n# one\n# two\nX\nB\n');
  });

  it('nests sections', () => {
    const tpl = '{{#a}}\n{{#b}}\nab\n{{/b}}\na\n{{/a}}\n';
    expect(renderTemplate('t', tpl, { a: true, b: false })).toBe('a\n');
    expect(renderTemplate('t', tpl, { a: false, b: true })).toBe('\n');
  });

  it('collapses the blank runs vanished sections leave', () => {
    expect(renderTemplate('t', 'A\n\n{{#x}}\nX\n{{/x}}\n\nB\n', { x: false })).toBe('A\n\nB\n');
  });

  it('rejects unknown names and unbalanced sections with INIT_TEMPLATE_INVALID', () => {
    const attempts = [
      () => renderTemplate('t', 'FROM {{nope}}\n', {}),
      () => renderTemplate('t', '{{#a}}\nx\n', { a: true }),
      () => renderTemplate('t', '{{#a}}\nx\n{{/b}}\n', { a: true, b: true }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        attempt();
      } catch (err) {
        caught = err;
      }
      expect(isImgtoolError(caught, 'INIT_TEMPLATE_INVALID')).toBe(true);
    }
  });
});
