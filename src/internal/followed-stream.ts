/** Options of followStream. */
export interface FollowStreamOptions<S, M> {
  /** Where the stream can be opened (e.g. one per token service replica), tried in turn: a break moves to the next. */
  readonly sources: readonly S[];
  /** Opens the stream on one source; it ends or throws when the stream breaks, and must end when `signal` aborts. */
  open(source: S, signal: AbortSignal): AsyncIterable<M>;
  /** Applies one message; a throw drops the stream (and opens it again, on the next source). */
  onMessage(message: M, source: S): void;
  /** The stream broke (it ended, failed, or stayed silent too long); `attempts` counts the breaks since the last message. */
  onBreak?(error: unknown, source: S, attempts: number): void;
  /**
   * How long the stream may stay silent, in ms, before it is treated as dead
   * and opened again: before its first message `message` is undefined (a
   * connect timeout), then the last message received.
   */
  silenceMs(message: M | undefined): number;
  /** First wait before reopening, in ms; it doubles with each break in a row, up to `maxDelayMs`, with jitter. Default 100. */
  readonly minDelayMs?: number;
  /** Longest wait before reopening, in ms. Default 5000. */
  readonly maxDelayMs?: number;
}

/** A stream followed in the background until stop(). */
export interface FollowedStream {
  stop(): void;
}

/** Thrown into the stream's loop when it stayed silent longer than allowed. */
class SilentStreamError extends Error {
  constructor(ms: number) {
    super(`no message for ${ms} ms`);
    this.name = "SilentStreamError";
  }
}

/**
 * Keeps a server stream open: when it ends, fails or stays silent longer than
 * `silenceMs`, it is opened again on the next source after a wait that
 * doubles with each break in a row (full jitter between half and all of it,
 * so that many followers cut off at once do not come back in step). The
 * first break after a stream that delivered messages moves to the next
 * source without waiting: a replica that went away is replaced at once.
 * Timers never keep the process alive.
 */
export function followStream<S, M>(options: FollowStreamOptions<S, M>): FollowedStream {
  if (options.sources.length === 0) throw new RangeError("followStream needs at least one source");
  const minDelayMs = options.minDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  let stopped = false;
  let current: AbortController | undefined;
  let wakeUp: (() => void) | undefined;

  const run = async () => {
    let index = 0;
    let breaks = 0;
    while (!stopped) {
      const source = options.sources[index % options.sources.length]!;
      const controller = new AbortController();
      current = controller;
      let last: M | undefined;
      let received = false;
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        const ms = options.silenceMs(last);
        watchdog = setTimeout(() => controller.abort(new SilentStreamError(ms)), ms);
        watchdog.unref();
      };
      let error: unknown = new Error("the stream ended");
      try {
        arm();
        for await (const message of options.open(source, controller.signal)) {
          if (stopped) break;
          last = message;
          received = true;
          breaks = 0;
          arm();
          options.onMessage(message, source);
        }
      } catch (err) {
        error = controller.signal.aborted && controller.signal.reason instanceof SilentStreamError ? controller.signal.reason : err;
      } finally {
        clearTimeout(watchdog);
        controller.abort();
      }
      if (stopped) return;
      breaks++;
      options.onBreak?.(error, source, breaks);
      index++;
      if (received && options.sources.length > 1) continue;
      const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(breaks - 1, 30));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ceiling * (0.5 + Math.random() / 2));
        timer.unref();
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      current?.abort();
      wakeUp?.();
    },
  };
}
