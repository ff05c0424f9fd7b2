/**
 * Plain synchronous stdout/stderr for the CLI and the hook when they are a
 * pipe, a file or a socket. Node's process.stdout/stderr there is a stream
 * object (net.Socket for a pipe), and creating the first one loads the
 * whole stream stack: a measurable part of a short run such as a hook call
 * or `check one.xml`. Node writes to pipes and files synchronously on Linux
 * anyway, and virt-pin only ever calls write() and reads isTTY, so a
 * write(2) loop does the same job. Terminals keep Node's own stream (it
 * knows colours and sizes); telling a terminal from another character
 * device needs node:tty, which loads the same stack, so character devices
 * keep it too, except /dev/null itself (the same device number as
 * /dev/null's: output thrown away, as by cron, scripts and `stdio: 'ignore'`).
 *
 * A reader that has gone away (EPIPE) ends the output silently instead of
 * an unhandled 'error' event; a non-blocking descriptor that is full
 * (EAGAIN) is waited on in 10 ms steps, not spun on.
 */
import { fstatSync, statSync, writeSync, type Stats } from 'node:fs';

export function usePlainStdio(): void {
  plain(1, 'stdout');
  plain(2, 'stderr');
}

function plain(fd: 1 | 2, name: 'stdout' | 'stderr'): void {
  let kind;
  try {
    kind = fstatSync(fd);
  } catch {
    return; // closed: leave Node's own behaviour
  }
  if (!kind.isFIFO() && !kind.isFile() && !kind.isSocket() && !isDevNull(kind)) return;
  let closed = false;
  const write = (text: string | Uint8Array): boolean => {
    let rest = typeof text === 'string' ? Buffer.from(text) : text;
    while (rest.length > 0 && !closed) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        else closed = true; // EPIPE and the like: no one is reading any more
      }
    }
    return !closed;
  };
  // Anything else (.on(), .end(), ...) gets Node's own stream back, created
  // then; both write synchronously, so the output keeps its order. Code that
  // compares the object with process.stdout itself does not see a stream:
  // Node's Worker pipes its output into it and then ends it, which is why
  // check's workers keep their (unused) stdout and stderr to themselves.
  const original = Object.getOwnPropertyDescriptor(process, name);
  const own: Record<string, unknown> = { fd, isTTY: false, write };
  const standIn = new Proxy(own, {
    get(target, key) {
      if (Object.hasOwn(target, key) || !original) return target[key as string];
      Object.defineProperty(process, name, original);
      const real = process[name] as unknown as Record<string | symbol, unknown>;
      const value = real[key];
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
  Object.defineProperty(process, name, { configurable: true, enumerable: true, value: standIn });
}

/** Whether an open descriptor is /dev/null: a character device with /dev/null's device number. */
function isDevNull(kind: Stats): boolean {
  if (!kind.isCharacterDevice()) return false;
  try {
    const devNull = statSync('/dev/null');
    return devNull.isCharacterDevice() && devNull.rdev === kind.rdev;
  } catch {
    return false;
  }
}
