/**
 * Crash-point injection for the kill tests: with FERRY_CRASH_POINT=<name> in the environment the
 * process SIGKILLs itself when it reaches that point (after FERRY_CRASH_AFTER earlier passes).
 * Points: upload-after-put, upload-after-commit, upload-after-trim (uploader), remount-after-attach
 * (remount controller: volume attached to the target, before the target replays it).
 */
const CRASH_POINT = process.env.FERRY_CRASH_POINT;
let crashPasses = Number(process.env.FERRY_CRASH_AFTER ?? 0);

export function crashPoint(name: string): void {
  if (CRASH_POINT !== name) return;
  if (crashPasses-- > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
