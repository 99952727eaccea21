import { describe, expect, it } from 'vitest';
import { COMPONENT_V8_FLAGS, componentExecArgv } from '../src/v8-flags.js';

describe('componentExecArgv', () => {
  it("keeps the node's own arguments and adds the component flags after them", () => {
    expect(componentExecArgv(['--enable-source-maps'], '')).toEqual(['--enable-source-maps', ...COMPONENT_V8_FLAGS]);
  });

  it('leaves a flag the operator set, in either spelling, in execArgv or NODE_OPTIONS', () => {
    expect(componentExecArgv(['--initial-old-space-size=256'], '')).toEqual(['--initial-old-space-size=256']);
    expect(componentExecArgv(['--initial_old_space_size=256'], '')).toEqual(['--initial_old_space_size=256']);
    expect(componentExecArgv([], '--max-old-space-size=512 --initial-old-space-size=32')).toEqual([]);
  });
});
