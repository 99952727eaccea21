import { describe, expect, it } from 'vitest';
import { Cut } from '../src/cut.js';

describe('Cut', () => {
  it('tells each listener once, with the first reason; a listener that stopped hears nothing', () => {
    const cut = new Cut();
    const heard: string[] = [];
    cut.listen((reason) => heard.push(`a:${reason.message}`));
    const stop = cut.listen((reason) => heard.push(`b:${reason.message}`));
    cut.listen((reason) => heard.push(`c:${reason.message}`));
    stop();
    expect(cut.reason).toBeUndefined();
    cut.fire(new Error('ABOR'));
    cut.fire(new Error('later'));
    expect(heard).toEqual(['a:ABOR', 'c:ABOR']);
    expect(cut.reason?.message).toBe('ABOR');
  });

  it('calls a listener at once when the transfer was already cut', () => {
    const cut = new Cut();
    cut.fire(new Error('the control connection closed'));
    const heard: string[] = [];
    const stop = cut.listen((reason) => heard.push(reason.message));
    expect(heard).toEqual(['the control connection closed']);
    stop();
  });
});
