import type { Logger } from '../log.js';
import type { Kernel } from './kernel.js';
import { openOrder, type DatabaseConfig, type Module, type ModuleContext } from './module.js';

/**
 * The open modules of one opening of storage: opened in dependency order,
 * each one's commit participants and write transform registered with the
 * kernel's transaction manager; closed in reverse.
 */
export class ModuleSet {
  private readonly services = new Map<Module<unknown>, unknown>();
  /** In open order. */
  readonly opened: Module<unknown>[] = [];

  /** Open `modules` on `kernel`; a failing open rejects naming the module (those opened before stay for close()). */
  async open(modules: readonly Module<unknown>[], kernel: Kernel, config: DatabaseConfig, log: Logger): Promise<void> {
    const ctx: ModuleContext = {
      ...kernel,
      config,
      log,
      get: (m) => this.service(m, `module ${m.name} is used before it is open (name it in "after")`),
      opened: () => this.opened.map((m) => [m, this.services.get(m)] as const),
    };
    for (const m of openOrder(modules)) {
      let service: unknown;
      try {
        service = await m.open(ctx);
      } catch (e) {
        throw new Error(`module ${m.name} failed to open: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      this.services.set(m, service);
      this.opened.push(m);
      for (const participant of [m.commit?.(service) ?? []].flat()) kernel.transactions.addParticipant(participant);
      const transform = m.transform?.(service);
      if (transform) kernel.transactions.addTransform(transform);
    }
  }

  /** The service of an open module; TypeError for one that is not (a programming error). */
  service<S>(m: Module<S>, missing = `module ${m.name} is not part of this database`): S {
    if (!this.services.has(m)) throw new TypeError(missing);
    return this.services.get(m) as S;
  }

  /** Write every module's checkpoint now. */
  async checkpoint(): Promise<void> {
    for (const m of this.opened) await m.checkpoint?.(this.services.get(m));
  }

  /** Close in reverse open order; a module failing to close is logged and the others still close. */
  async close(log: Logger): Promise<void> {
    for (const m of [...this.opened].reverse()) {
      try {
        await m.close?.(this.services.get(m));
      } catch (e) {
        log.error('closing a module failed', { module: m.name, error: e });
      }
    }
  }
}
