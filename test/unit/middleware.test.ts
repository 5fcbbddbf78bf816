import { describe, expect, it } from 'vitest';
import { ThemisError } from '../../src/errors.js';
import { afterNext, compose, type Middleware } from '../../src/server/index.js';

interface Ctx {
  log: string[];
  reply?: string;
}

/** A link that logs around next(), synchronously. */
const around =
  (name: string): Middleware<Ctx> =>
  (ctx, next) => {
    ctx.log.push(`${name}:before`);
    return afterNext(next(), () => void ctx.log.push(`${name}:after`));
  };

const handler: Middleware<Ctx> = (ctx) => {
  ctx.log.push('handler');
  ctx.reply = 'done';
};

describe('compose', () => {
  it('runs links in order before next() and in reverse order after it', () => {
    const ctx: Ctx = { log: [] };
    compose([around('a'), around('b'), handler])(ctx);
    expect(ctx.log).toEqual(['a:before', 'b:before', 'handler', 'b:after', 'a:after']);
    expect(ctx.reply).toBe('done');
  });

  it('stays synchronous when every link and the handler are: no promise is returned', () => {
    const ctx: Ctx = { log: [] };
    const out = compose([around('a'), around('b'), handler])(ctx);
    expect(out).toBeUndefined();
    expect(ctx.log).toContain('a:after');
  });

  it('becomes a promise from the first async link; the links before it run their after-part once it settles', async () => {
    const ctx: Ctx = { log: [] };
    const slow: Middleware<Ctx> = async (c, next) => {
      await new Promise((r) => setTimeout(r, 1));
      c.log.push('slow');
      await next();
    };
    const out = compose([around('a'), slow, around('b'), handler])(ctx);
    expect(out).toBeInstanceOf(Promise);
    expect(ctx.log).toEqual(['a:before']);
    await out;
    expect(ctx.log).toEqual(['a:before', 'slow', 'b:before', 'handler', 'b:after', 'a:after']);
  });

  it('an async handler behind synchronous links: the chain returns its promise', async () => {
    const ctx: Ctx = { log: [] };
    const asyncHandler: Middleware<Ctx> = async (c) => {
      await Promise.resolve();
      c.reply = 'later';
    };
    const out = compose([around('a'), asyncHandler])(ctx);
    expect(out).toBeInstanceOf(Promise);
    expect(ctx.log).toEqual(['a:before']);
    await out;
    expect(ctx).toEqual({ log: ['a:before', 'a:after'], reply: 'later' });
  });

  it('a link that does not call next() ends the chain (short-circuit); the links before it still finish', () => {
    const ctx: Ctx = { log: [] };
    const stop: Middleware<Ctx> = (c) => {
      c.log.push('stop');
      c.reply = 'short';
    };
    compose([around('a'), stop, around('b'), handler])(ctx);
    expect(ctx.log).toEqual(['a:before', 'stop', 'a:after']);
    expect(ctx.reply).toBe('short');
  });

  it('an error thrown by a link skips the rest and reaches the caller (synchronously), and outer links may catch it around next()', () => {
    const boom: Middleware<Ctx> = () => {
      throw new ThemisError('FORBIDDEN', 'no');
    };
    const ctx: Ctx = { log: [] };
    expect(() => compose([around('a'), boom, handler])(ctx)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(ctx.log).toEqual(['a:before']); // after-parts run only on success

    const caught: string[] = [];
    const guard: Middleware<Ctx> = (_c, next) => {
      try {
        return next();
      } catch (e) {
        caught.push((e as ThemisError).code);
        throw e;
      }
    };
    expect(() => compose([guard, boom, handler])({ log: [] })).toThrow(ThemisError);
    expect(caught).toEqual(['FORBIDDEN']);
  });

  it('an async link that rejects makes the chain reject with that error', async () => {
    const ctx: Ctx = { log: [] };
    const boom: Middleware<Ctx> = async () => {
      await Promise.resolve();
      throw new ThemisError('UNAVAILABLE', 'later');
    };
    await expect(compose([around('a'), boom, handler])(ctx)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(ctx.log).toEqual(['a:before']);
  });

  it('next() called twice by one link is a programming error (TypeError)', () => {
    const twice: Middleware<Ctx> = (_c, next) => {
      next();
      return next();
    };
    expect(() => compose([twice, handler])({ log: [] })).toThrow(TypeError);
  });

  it('an empty chain and a chain whose last link calls next() end quietly', () => {
    expect(compose<Ctx>([])({ log: [] })).toBeUndefined();
    const ctx: Ctx = { log: [] };
    expect(compose([around('a')])(ctx)).toBeUndefined();
    expect(ctx.log).toEqual(['a:before', 'a:after']);
  });
});
