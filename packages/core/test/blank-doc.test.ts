import { describe, expect, it } from 'vitest';
import { isBlankDoc } from '../src/index.js';

describe('isBlankDoc', () => {
  it('is true only for documents with no letter or digit in title and text (Cranfield doc 471 is empty)', () => {
    expect(isBlankDoc({ id: '471', title: '', text: '' })).toBe(true);
    expect(isBlankDoc({ id: 'ws', text: ' \n\t ' })).toBe(true);
    expect(isBlankDoc({ id: 'p', title: '--', text: '... ; !! ()' })).toBe(true);
    expect(isBlankDoc({ id: 't', title: 'Title only', text: '' })).toBe(false);
    expect(isBlankDoc({ id: 'n', text: '42' })).toBe(false);
    expect(isBlankDoc({ id: 'u', text: 'µ — Zürich' })).toBe(false);
    expect(isBlankDoc({ id: 'cjk', text: '文献' })).toBe(false);
  });
});
