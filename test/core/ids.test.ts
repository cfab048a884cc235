import { decodeTime } from 'ulidx';
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';

describe('ids', () => {
  it('are unique and sort in the order they were made, many per millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('log'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('carry the time they are dated with, so late-written rows still sort by when they happened', () => {
    const at = Date.now() + 60_000;
    expect(decodeTime(newId('log', at).slice(4))).toBe(at);
  });

  it('dated alike, sort in the order they were made, even after an id dated later', () => {
    const later = Date.now() + 300_000;
    newId('log', later + 5);
    const sameMoment = Array.from({ length: 500 }, () => newId('log', later));
    expect([...sameMoment].sort()).toEqual(sameMoment);
    expect(sameMoment.every((id) => decodeTime(id.slice(4)) === later)).toBe(true);
  });

  it('draw fresh randomness each millisecond', () => {
    const base = Date.now() + 120_000;
    const randomParts = new Set(Array.from({ length: 2000 }, (_, i) => newId('log', base + i).slice(14)));
    expect(randomParts.size).toBe(2000);
  });
});
