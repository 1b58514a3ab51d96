/**
 * Stack capture for the verifier's reports: the caller's frames with the library's own dropped,
 * and a lock's construction site (the class of an unnamed lock).
 */

/**
 * The library's own directory, to drop its frames from stacks: `dist/` for the bundle, or `src/`
 * when stacks are source-mapped back to the sources (as under test runners).
 */
const SELF = libraryDir(fileOfFrame((new Error().stack ?? '').split('\n')[1] ?? ''));

function libraryDir(file: string): string {
  const src = file.lastIndexOf('/src/check/');
  if (src >= 0) return file.slice(0, src + 5);
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return slash >= 0 ? file.slice(0, slash + 1) : file;
}

function fileOfFrame(line: string): string {
  return locationOf(line).replace(/:\d+:\d+$/, '');
}

/** The `path:line:col` part of one stack line. */
function locationOf(line: string): string {
  const t = line.trim();
  const m = /\(([^()]*)\)$/.exec(t);
  return (m !== null ? m[1]! : t.replace(/^at\s+/, '')).replace(/^file:\/\//, '');
}

/** The caller's stack without the library's frames, at most 12 frames. */
export function captureStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureStack);
  Error.stackTraceLimit = limit;
  const lines = (holder.stack ?? '').split('\n').slice(1);
  const out: string[] = [];
  for (const l of lines) {
    if (SELF !== '' && l.includes(SELF)) continue;
    out.push(l.trim());
    if (out.length === 12) break;
  }
  return out.join('\n');
}

/** `path:line:col` of a stack's first frame. */
function firstFrame(stack: string): string {
  return locationOf(stack.split('\n')[0] ?? '');
}

/** An unnamed lock's class: `kind at path:line:col` of the code constructing it. */
export function constructionSite(kind: string): string {
  const frame = firstFrame(captureStack());
  return frame === '' ? kind : `${kind} at ${frame}`;
}
