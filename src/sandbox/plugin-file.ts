/**
 * The plugin file, opened once and checked through its descriptor. What the sidecar loads is this open file
 * (`dlopen("/proc/self/fd/N")` in a thread, fd N handed to the sidecar process), never the path looked up again, so a
 * file swapped in under the same name after the check is not what runs (docs/security.md, "the plugin file").
 *
 * Threading: the JavaScript thread that starts the sidecar. Ownership: the Sidecar owns the descriptor and closes it
 * when it has ended for good (restarts load the same open file again).
 */
import { closeSync, constants, fstatSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { SidecarError } from '../errors.js';

export class PluginFile {
  /** The descriptor (close-on-exec in this process; a sidecar process receives a copy as an inherited fd). */
  readonly fd: number;
  /** The path the caller gave (absolute). */
  readonly path: string;
  #closed = false;

  private constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
  }

  /** The path through which this process loads the open file. */
  get procPath(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  /**
   * Opens `path` and checks the open file: a regular file, owned by this user or root, not writable by group or
   * others, in a directory that others cannot rename files in (owned by us or root, or not group/world-writable, or
   * sticky). `trust: true` keeps only the regular-file check. Throws ERR_SIDECAR_START (missing, unreadable, not a
   * file) or ERR_PLUGIN_UNSAFE (a sentence saying what is wrong); nothing stays open on a throw.
   */
  static open(path: string, trust: boolean): PluginFile {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
      throw new SidecarError('ERR_SIDECAR_START', `The plugin file '${path}' ${why}.`, { cause: error });
    }
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new SidecarError('ERR_SIDECAR_START', `The plugin path '${path}' is not a regular file.`);
      if (!trust) checkOwnership(path, info.uid, info.mode, 'file');
      if (!trust) {
        const dir = dirname(realpathSync(path));
        const d = statSync(dir);
        // A directory others may write in lets them replace the file by rename — unless it is sticky (like /tmp),
        // where only a file's owner may rename it.
        if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) checkOwnership(dir, d.uid, d.mode, 'directory');
      }
      return new PluginFile(fd, path);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * `text` with the descriptor path — this process's, or `childPath`, the one a sidecar process sees — replaced by
   * the caller's path (the sidecar's messages name what it opened). A path followed by another digit is left alone.
   */
  describe(text: string, childPath?: string): string {
    let out = text;
    for (const p of childPath === undefined ? [this.procPath] : [this.procPath, childPath]) {
      out = out.replace(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?!\\d)`, 'g'), () => this.path);
    }
    return out;
  }

  /** Closes the descriptor; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.fd);
  }
}

function checkOwnership(path: string, uid: number, mode: number, what: 'file' | 'directory'): void {
  const me = process.geteuid?.() ?? -1;
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  if (uid !== me && uid !== 0) {
    throw new SidecarError(
      'ERR_PLUGIN_UNSAFE',
      `The plugin ${what} '${path}' belongs to uid ${uid}, not to this user (${me}) or root, so its owner could replace the code this process runs; pass trustPluginFile: true to load it anyway.`,
    );
  }
  if ((mode & 0o022) !== 0) {
    throw new SidecarError(
      'ERR_PLUGIN_UNSAFE',
      `The plugin ${what} '${path}' is writable by its group or by everyone (mode ${octal}), so another user could replace the code this process runs; remove the write bits (chmod go-w) or pass trustPluginFile: true.`,
    );
  }
}
