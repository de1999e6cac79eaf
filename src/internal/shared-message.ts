// Messages that a server sends unchanged on many calls (WatchKeys' key set, to every watcher and on
// every heartbeat): the transport may serialize such a message once and send the same bytes each time.

const shared = new WeakSet<object>();
const serialized = new WeakMap<object, Uint8Array>();

/** Marks `message` as sent unchanged from now on; the caller must never change it afterwards. */
export function shareMessage<T extends object>(message: T): T {
  shared.add(message);
  return message;
}

/**
 * The bytes of a message: for a shared one, serialized on its first send and kept for the next ones
 * (callers must not change the bytes: a transport frames a copy); otherwise serialized each time.
 */
export function messageBytes<B extends Uint8Array>(message: object, serialize: () => B): B {
  if (!shared.has(message)) return serialize();
  let bytes = serialized.get(message) as B | undefined;
  if (bytes === undefined) {
    bytes = serialize();
    serialized.set(message, bytes);
  }
  return bytes;
}
